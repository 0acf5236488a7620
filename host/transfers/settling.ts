/** Holding deliveries to an agent while a handoff decides where it lives. */
import type { AgentRuntime } from "../kernel/agent_runtime.ts";

/**
 * Registers `work` as the handoff of `agentId`: deliveries, activations and disposals of that
 * agent wait for it to settle. Returns `work` unchanged.
 */
export function holdWhile<T>(runtime: AgentRuntime, agentId: string, work: Promise<T>): Promise<T> {
  const guarded: Promise<unknown> = work.then(() => {}, () => {});
  runtime.settling.set(agentId, guarded);
  void guarded.then(() => {
    if (runtime.settling.get(agentId) === guarded) runtime.settling.delete(agentId);
  });
  return work;
}

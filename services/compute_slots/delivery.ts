/**
 * How compute-slots tells a waiting job that it got a slot (`compute_slot_granted`) or should go
 * elsewhere (`compute_slot_redirect`). The message activates a sleeping job (its policy says
 * `activateOnMessage`). A job that is just falling asleep answers `{accepted: false, retry: true}`;
 * the message is then sent again, which waits for the deactivation and wakes the job up.
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";
import { AgentRuntime } from "../../host/kernel/agent_runtime.ts";
import type { ServiceHost } from "../service_host.ts";
import { sleep } from "../../agents/timers.ts";

/** How a delivery ended. */
export type DeliveryOutcome =
  /** The job took it (or the agent handled it without saying otherwise). */
  | { kind: "accepted" }
  /** The job answered that it does not want it (with its reason). */
  | { kind: "refused"; reason: string }
  /** The agent does not exist (any more) or crashed. */
  | { kind: "gone"; reason: string }
  /** It could not be delivered now (timeout, host unreachable, ...). */
  | { kind: "failed"; reason: string };

/** Options of {@linkcode deliverToJob}. */
export interface DeliveryOptions {
  /** How often a `retry` answer is followed by another attempt. @default 40 */
  retries?: number;
  /** Reply timeout per attempt. @default 30000 */
  timeoutMs?: number;
  /** Checked before every attempt: false stops the delivery (e.g. the lease was released meanwhile). */
  stillWanted?: () => boolean;
}

const GONE = new Set(["agent_not_found", "agent_crashed", "not_handled"]);

/** Sends `kind` to a job on this host or another one and reports the outcome; never throws. */
export async function deliverToJob(
  host: ServiceHost,
  agentId: string,
  agentHostUrl: string,
  kind: string,
  args: Record<string, unknown>,
  options: DeliveryOptions = {},
): Promise<DeliveryOutcome> {
  const { retries = 40, timeoutMs = 30_000, stillWanted = () => true } = options;
  for (let attempt = 0;; attempt++) {
    if (!stillWanted()) return { kind: "refused", reason: "no longer wanted" };
    let reply: unknown;
    try {
      reply = await send(host, agentId, agentHostUrl, kind, args, timeoutMs);
    } catch (err) {
      const error = PagletError.from(err);
      if (GONE.has(error.code)) return { kind: "gone", reason: error.message };
      return { kind: "failed", reason: `${error.code}: ${error.message}` };
    }
    const answer = reply as { accepted?: unknown; retry?: unknown; reason?: unknown } | undefined;
    if (!answer || typeof answer !== "object" || answer.accepted !== false) return { kind: "accepted" };
    if (answer.retry === true) {
      // The job asks for it again later (it is falling asleep): past the retries, it could not be
      // delivered now, which is not a refusal (a grant is then offered again, not dropped).
      if (attempt >= retries) return { kind: "failed", reason: `still busy after ${retries} tries` };
      await sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 6)));
      continue;
    }
    return { kind: "refused", reason: String(answer.reason ?? "refused") };
  }
}

async function send(
  host: ServiceHost,
  agentId: string,
  agentHostUrl: string,
  kind: string,
  args: Record<string, unknown>,
  timeoutMs: number,
): Promise<unknown> {
  const message = AgentRuntime.message({ kind, args });
  if (agentHostUrl && !host.isSelf(agentHostUrl) && !host.remote) {
    throw new PagletError("host_unreachable", `This host has no mesh to reach ${agentHostUrl}`);
  }
  return await host.kernel.router.request(agentId, message, {
    targetHost: agentHostUrl || undefined,
    timeoutMs,
  });
}

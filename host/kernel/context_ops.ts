/**
 * The kernel side of the paglet context: the operations a worker calls on behalf of a paglet
 * (`ContextOpMap` in worker/protocol.ts). The host serves its own (local_ops.ts); extensions
 * (mesh, mobility, artifacts, services) register theirs at start.
 */
import { PagletError } from "../../agents/errors.ts";
import type { ContextOpHandler, ContextOpHandlers, ContextOpMap } from "../worker/protocol.ts";

type AnyHandler = (agentId: string, ...args: unknown[]) => unknown;

export class ContextOps {
  readonly #ops = new Map<string, AnyHandler>();
  /** Called with the agent id before every call (its state may change). */
  onCall: (agentId: string) => void = () => {};

  register<K extends keyof ContextOpMap>(name: K, op: ContextOpHandler<K>): void {
    this.#ops.set(name, op as AnyHandler);
  }

  registerAll(ops: ContextOpHandlers): void {
    for (const [name, op] of Object.entries(ops)) this.#ops.set(name, op as AnyHandler);
  }

  /** Runs `op` for `agentId`; a failure rejects with a PagletError (the port sends it in wire form). */
  async call(op: string, agentId: string, args: unknown[]): Promise<unknown> {
    this.onCall(agentId);
    const fn = this.#ops.get(op);
    if (!fn) throw new PagletError("not_supported", `This host does not support '${op}'`);
    return await fn(agentId, ...args);
  }
}

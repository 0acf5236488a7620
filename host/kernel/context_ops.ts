/**
 * The kernel side of the paglet context: named operations a worker calls on behalf of a paglet
 * (`kernel.call(op, agentId, args)`). Later parts of the host (mesh, services) register more.
 */
import { PagletError } from "../../agents/errors.ts";
import type { Outcome } from "../worker/protocol.ts";

export type ContextOp = (agentId: string, ...args: never[]) => unknown;

export class ContextOps {
  readonly #ops = new Map<string, ContextOp>();
  /** Called with the agent id after every call (its state may have changed). */
  onCall: (agentId: string) => void = () => {};

  register(name: string, op: ContextOp): void {
    this.#ops.set(name, op);
  }

  registerAll(ops: Record<string, ContextOp>): void {
    for (const [name, op] of Object.entries(ops)) this.register(name, op);
  }

  async call(op: string, agentId: string, args: unknown[]): Promise<Outcome> {
    this.onCall(agentId);
    const fn = this.#ops.get(op);
    if (!fn) {
      return { ok: false, error: { code: "not_supported", message: `This host does not support '${op}'` } };
    }
    try {
      return { ok: true, value: await (fn as (id: string, ...a: unknown[]) => unknown)(agentId, ...args) };
    } catch (err) {
      return { ok: false, error: PagletError.from(err).toWire() };
    }
  }
}

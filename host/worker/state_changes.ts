/**
 * What a handler did to its paglet's state, as the kernel needs it to make a reply durable: after
 * each handler the state is encoded and compared with what the last one left, so the kernel writes
 * only states that changed (a read-only message costs no write).
 */
import { PagletError } from "../../agents/errors.ts";
import type { Paglet, PagletClass } from "../../agents/paglet.ts";
import { findNonPlainData } from "../../agents/wire.ts";
import { decodeCbor, encodeCbor } from "../../agents/cbor.ts";
import type { StateChange } from "./protocol.ts";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class StateChanges {
  /** Per running paglet: its state as the kernel last stored or was handed it. */
  readonly #last = new Map<string, Uint8Array>();

  /** `bytes` is the paglet's state as the kernel has it now (start, restore). */
  known(id: string, bytes: Uint8Array): void {
    this.#last.set(id, bytes);
  }

  forget(id: string): void {
    this.#last.delete(id);
  }

  /** Whether `bytes` (paglet `id`'s state now) differ from the state the kernel has. */
  differs(id: string, bytes: Uint8Array): boolean {
    const last = this.#last.get(id);
    return !last || !sameBytes(last, bytes);
  }

  /** The state of paglet `id` as the kernel has it (undefined when this worker was not told). */
  lastOf(id: string): Uint8Array | undefined {
    return this.#last.get(id);
  }

  /**
   * After a handler of `paglet`: its new state when it changed, else what the kernel should do. A
   * state that cannot be stored (not plain data: NaN, a function, a class instance) fails the
   * handler with `invalid_state` and is put back as the kernel has it: kept, it would fail every
   * later message, the paglet's deactivation and its moves.
   */
  after(paglet: Paglet<Record<string, unknown>>): StateChange {
    if ((paglet.constructor as PagletClass).durability === "checkpoint") return "checkpoint";
    let bytes: Uint8Array;
    try {
      bytes = encodeCbor(paglet.state);
    } catch (err) {
      // Where the state went wrong, when the walk can say (a function at $.fn), else the encoder's word.
      const bad = findNonPlainData(paglet.state);
      this.#undo(
        paglet,
        bad ? `State is not plain data at ${bad}` : `State cannot be encoded (${(err as Error).message})`,
      );
    }
    const last = this.#last.get(paglet.id);
    if (last && sameBytes(last, bytes)) return "unchanged";
    // Only a state about to be stored pays for the walk: it must reload as the same data.
    const bad = findNonPlainData(paglet.state);
    if (bad) this.#undo(paglet, `State is not plain data at ${bad}`);
    this.#last.set(paglet.id, bytes);
    return bytes;
  }

  /**
   * After a handler of `paglet` that failed (it threw, or its reply cannot be sent): the state goes
   * back to the one the kernel has, so that a failed message leaves no change behind (kept, it
   * would be stored with the next message's, and a caller that retries would apply it twice).
   * Checkpoint-durability types are left alone: the kernel does not follow their state per message.
   */
  rollBack(paglet: Paglet<Record<string, unknown>>): void {
    if ((paglet.constructor as PagletClass).durability === "checkpoint") return;
    const last = this.#last.get(paglet.id);
    if (last) paglet.state = decodeCbor<Record<string, unknown>>(last);
  }

  #undo(paglet: Paglet<Record<string, unknown>>, why: string): never {
    const last = this.#last.get(paglet.id);
    if (!last) throw new PagletError("invalid_state", why);
    paglet.state = decodeCbor<Record<string, unknown>>(last);
    throw new PagletError("invalid_state", `${why}: the handler's changes to the state were undone`);
  }
}

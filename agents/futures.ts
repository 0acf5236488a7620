/** Future replies of `sendFuture` and reply sets of `multicast`. */
import { PagletError } from "./errors.ts";
import { orAfter } from "./timers.ts";

/** A reply that arrives later. */
export class FutureReply<T = unknown> {
  #settled = false;
  #value: T | undefined;
  #error: unknown;
  readonly promise: Promise<T>;

  constructor(promise: Promise<T>) {
    this.promise = promise.then(
      (value) => {
        this.#settled = true;
        this.#value = value;
        return value;
      },
      (error) => {
        this.#settled = true;
        this.#error = error;
        throw error;
      },
    );
    // A future nobody reads must not crash the worker with an unhandled rejection.
    this.promise.catch(() => {});
  }

  /** Has the reply (or an error) arrived? */
  get isAvailable(): boolean {
    return this.#settled;
  }

  /** Waits up to `timeoutMs` for the reply; true if it arrived. */
  async waitForReply(timeoutMs: number): Promise<boolean> {
    if (this.#settled) return true;
    return await orAfter(this.promise.then(() => true, () => true), timeoutMs, false);
  }

  /** The reply; throws the error the send failed with, or `timeout` after `timeoutMs`. */
  async getReply(timeoutMs = 30_000): Promise<T> {
    if (!(await this.waitForReply(timeoutMs))) {
      throw new PagletError("timeout", `No reply within ${timeoutMs} ms`);
    }
    if (this.#error !== undefined) throw this.#error;
    return this.#value as T;
  }
}

/** A set of future replies, iterable in completion order. */
export class ReplySet<T = unknown> {
  readonly #pending = new Set<FutureReply<T>>();
  readonly #all: FutureReply<T>[] = [];

  add(reply: FutureReply<T>): void {
    this.#pending.add(reply);
    this.#all.push(reply);
  }

  get size(): number {
    return this.#all.length;
  }

  get countAvailable(): number {
    return this.#all.filter((r) => r.isAvailable).length;
  }

  get areAllAvailable(): boolean {
    return this.#all.every((r) => r.isAvailable);
  }

  /** Waits for every reply; true if all arrived within `timeoutMs`. */
  async waitForAll(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (const reply of this.#all) {
      if (!(await reply.waitForReply(Math.max(0, deadline - Date.now())))) return false;
    }
    return true;
  }

  /** The next reply to complete (in completion order), or null when none is left. */
  async next(timeoutMs = 30_000): Promise<FutureReply<T> | null> {
    if (this.#pending.size === 0) return null;
    const racers = [...this.#pending].map((r) => r.promise.then(() => r, () => r));
    const winner = await orAfter(Promise.race(racers), timeoutMs, null);
    if (!winner) throw new PagletError("timeout", `No further reply within ${timeoutMs} ms`);
    this.#pending.delete(winner);
    return winner;
  }

  /** Every settled value (errors as `{error}`), in the order the futures were added. */
  async settled(): Promise<({ ok: true; value: T } | { ok: false; error: unknown })[]> {
    return await Promise.all(
      this.#all.map((r) =>
        r.promise.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }))
      ),
    );
  }
}

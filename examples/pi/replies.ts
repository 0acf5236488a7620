/**
 * Requests to another thread answered by id: the pending side of the pi pool's workers
 * (worker_pool.ts), a borrowed helper (task_port.ts) and an assembly on a pi worker
 * (assembly_client.ts). The other side answers each request with an {@link IdReply}.
 *
 * @module
 */

/** An answer to request `id`: its result, or the error it failed with. */
export type IdReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** The answer of `id` to a request that threw `e` (the message the caller's error gets). */
export function failedReply(id: number, e: unknown): { id: number; ok: false; error: string } {
  return { id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

export class PendingReplies<R extends IdReply = IdReply> {
  readonly #pending = new Map<number, { resolve: (reply: R) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  /** Sends a request with `send(id)`; resolves with its successful reply, rejects with its error. */
  call(send: (id: number) => void): Promise<Extract<R, { ok: true }>> {
    const id = this.#nextId++;
    return new Promise<Extract<R, { ok: true }>>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (reply: R) => void, reject });
      send(id);
    });
  }

  /** Settles the request `reply` answers (an unknown id is ignored: its caller was failed already). */
  settle(reply: R): void {
    const pending = this.#pending.get(reply.id);
    this.#pending.delete(reply.id);
    if (!pending) return;
    if (reply.ok) pending.resolve(reply);
    else pending.reject(new Error(reply.error));
  }

  /** Fails every request still pending. */
  failAll(error: Error): void {
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }
}

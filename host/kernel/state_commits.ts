/**
 * Group commit of agent states: a reply that changed its agent's state is sent only once that state
 * is on disk, and a queued message leaves the store in the same transaction that stores its effect.
 * Writes that arrive in the same turn of the event loop share one transaction (WAL with
 * synchronous=NORMAL: durable against a crash of the process, one commit for many messages).
 *
 * Writes land in the order they were asked for, so a later state of an agent never loses to an
 * earlier one: the checkpoint, which snapshots agents, enqueues each snapshot the moment it
 * arrives, in the worker's own order relative to the replies of that agent's handlers.
 */
import { immediate } from "../immediate.ts";
import type { AgentStore } from "../storage/agent_store.ts";

/** One write: an agent's new state, a stored message its handler consumed, or both. */
export interface StateWrite {
  id: string;
  state?: Uint8Array;
  /** The `seq` of a stored (queued) message whose handler produced this write. */
  dequeue?: number;
  /**
   * Asked just before the write goes into a transaction: an error to fail it with instead (its
   * handler ran on a state whose own write failed), or undefined.
   */
  refused?: () => unknown;
  /** Told, before any promise of the batch settles, that this write's transaction failed. */
  failed?: (err: unknown) => void;
}

interface Pending {
  write: StateWrite;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class StateCommits {
  readonly #store: AgentStore;
  #batch: Pending[] = [];
  #scheduled = false;
  /** The commit under way; the next one starts after it (writes keep their order). */
  #committing: Promise<void> = Promise.resolve();

  constructor(store: AgentStore) {
    this.#store = store;
  }

  /** Stores `write` with the next group commit; resolves once it is on disk. */
  save(write: StateWrite): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#batch.push({ write, resolve, reject });
    if (!this.#scheduled) {
      this.#scheduled = true;
      // immediate: after the replies and snapshots that are ready now have asked for their writes.
      immediate(() => this.#commit());
    }
    return promise;
  }

  #commit(): void {
    this.#committing = this.#committing.then(async () => {
      this.#scheduled = false;
      const batch: Pending[] = [];
      for (const p of this.#batch) {
        const refusal = p.write.refused?.();
        if (refusal === undefined) batch.push(p);
        else p.reject(refusal);
      }
      this.#batch = [];
      if (batch.length === 0) return;
      try {
        await this.#store.transaction((tx) => {
          for (const { write } of batch) {
            if (write.state) tx.saveState(write.id, write.state);
            if (write.dequeue !== undefined) tx.dequeue(write.id, write.dequeue);
          }
        });
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.write.failed?.(err);
        for (const p of batch) p.reject(err);
      }
    });
  }

  /** Resolves once every write asked for so far is committed or has failed. */
  async flushed(): Promise<void> {
    for (let turn = 0; (this.#scheduled || this.#batch.length > 0) && turn < 1000; turn++) {
      await new Promise<void>((resolve) => immediate(resolve));
      await this.#committing;
    }
    await this.#committing;
  }
}

/**
 * The coordinator's book of batches: which are waiting, running or done, how often each was tried, and
 * on which hosts it failed, so that a retry goes elsewhere when there is an elsewhere. Pure data; the
 * coordinator decides what to do with it.
 *
 * @module
 */
import type { TermBatch } from "./chudnovsky.ts";

export type BatchStatus = "pending" | "running" | "done";

export interface BatchEntry extends TermBatch {
  status: BatchStatus;
  /** Launches so far (skips included). */
  launches: number;
  /** Failed attempts so far. */
  failures: number;
  /** Host URLs where it failed. */
  failedOn: Set<string>;
}

export class BatchTable {
  readonly #entries: BatchEntry[] = [];
  /** Waiting batches, in launch order (requeued ones go first). */
  readonly #queue: number[] = [];

  constructor(batches: readonly TermBatch[]) {
    for (const b of batches) this.add(b);
  }

  /** Appends a batch (e.g. terms added to decide the last digits). */
  add(batch: TermBatch): void {
    this.#entries.push({
      ...batch,
      index: this.#entries.length,
      status: "pending",
      launches: 0,
      failures: 0,
      failedOn: new Set(),
    });
    this.#queue.push(this.#entries.length - 1);
  }

  get size(): number {
    return this.#entries.length;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  get(index: number): BatchEntry {
    return this.#entries[index];
  }

  count(status: BatchStatus): number {
    return this.#entries.filter((e) => e.status === status).length;
  }

  /** Terms in finished batches. */
  termsDone(): number {
    return this.#entries.reduce((s, e) => s + (e.status === "done" ? e.b - e.a : 0), 0);
  }

  /**
   * Takes the next waiting batch for a host: the first (with `fromEnd`, the last) that has not failed
   * there, or (when `anyIfNone`, e.g. with a single host) the first (last) at all. Marks it running.
   */
  take(hostUrl: string, anyIfNone: boolean, fromEnd = false): BatchEntry | undefined {
    const fits = (i: number) => !this.#entries[i].failedOn.has(hostUrl);
    let at = fromEnd ? this.#queue.findLastIndex(fits) : this.#queue.findIndex(fits);
    if (at < 0 && anyIfNone && this.#queue.length > 0) at = fromEnd ? this.#queue.length - 1 : 0;
    if (at < 0) return undefined;
    const entry = this.#entries[this.#queue.splice(at, 1)[0]];
    entry.status = "running";
    entry.launches++;
    return entry;
  }

  done(index: number): void {
    this.#entries[index].status = "done";
  }

  /** Back to the front of the queue (skipped, or failed with attempts left). */
  requeue(index: number, failedOn?: string): void {
    const entry = this.#entries[index];
    if (failedOn !== undefined) {
      entry.failures++;
      entry.failedOn.add(failedOn);
    }
    entry.status = "pending";
    this.#queue.unshift(index);
  }
}

/**
 * A FIFO of tasks with O(1) push, shift and unshift; a removed task (cancelled, failed) is skipped
 * when it comes up instead of being searched for.
 *
 * @module
 */

/** What the queue needs of an entry: whether it still waits here. */
export interface Queued {
  state: string;
}

export class TaskQueue<T extends Queued> {
  #items: (T | undefined)[] = [];
  #head = 0;
  readonly #wanted: string;

  /** Entries whose `state` is not `wanted` when they come up are dropped. */
  constructor(wanted: string) {
    this.#wanted = wanted;
  }

  /** Entries in the queue, skipped ones included. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** Puts an entry first (a re-run goes ahead of new work). */
  unshift(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
  }

  /** The next entry still waiting here, without taking it. */
  peek(): T | undefined {
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head];
      if (item && item.state === this.#wanted) return item;
      this.#items[this.#head++] = undefined;
    }
    this.#compact();
    return undefined;
  }

  shift(): T | undefined {
    const item = this.peek();
    if (item) this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) this.#compact();
    return item;
  }

  /** Takes every entry still waiting here. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item; item = this.shift()) out.push(item);
    return out;
  }

  #compact(): void {
    this.#items = this.#items.slice(this.#head);
    this.#head = 0;
  }
}

/**
 * The newest items of a log, at most `capacity` of them and at most `maxBytes` as a size function
 * counts them (an item may be megabytes: thousands of those would hold gigabytes); the newest is
 * always kept. The event log and user-info's notifications keep theirs in one.
 *
 * @module
 */

export class BoundedRing<T> {
  readonly #items: T[] = [];
  /** The size of each kept item, beside it. */
  readonly #sizes: number[] = [];
  readonly #sizeOf: (item: T) => number;
  #bytes = 0;

  constructor(readonly capacity: number, readonly maxBytes: number, sizeOf: (item: T) => number) {
    this.#sizeOf = sizeOf;
  }

  /** Adds `item` as the newest, dropping the oldest until the ring is within its limits. */
  push(item: T): void {
    const size = this.#sizeOf(item);
    this.#items.push(item);
    this.#sizes.push(size);
    this.#bytes += size;
    if (this.#items.length <= this.capacity && this.#bytes <= this.maxBytes) return;
    let drop = Math.max(0, this.#items.length - this.capacity);
    for (let i = 0; i < drop; i++) this.#bytes -= this.#sizes[i];
    while (this.#bytes > this.maxBytes && drop < this.#items.length - 1) this.#bytes -= this.#sizes[drop++];
    this.#items.splice(0, drop);
    this.#sizes.splice(0, drop);
  }

  /** The kept items, oldest first. */
  get items(): readonly T[] {
    return this.#items;
  }

  /** Bytes the kept items hold, as the size function counts them. */
  get bytes(): number {
    return this.#bytes;
  }
}

/** Nesting past which a value is counted by its JSON's length (plain data is rarely this deep). */
const MAX_COUNTED_DEPTH = 32;

/**
 * About what a plain value holds in memory: its strings' lengths and a few bytes for every other
 * value. It walks the value once, without serialising it: most log items are a few fields.
 */
export function approximateBytes(value: unknown): number {
  return valueBytes(value, 0);
}

function valueBytes(value: unknown, depth: number): number {
  if (typeof value === "string") return value.length;
  if (value === null || typeof value !== "object") return 8;
  if (depth >= MAX_COUNTED_DEPTH) return deepBytes(value);
  if (ArrayBuffer.isView(value)) return value.byteLength;
  let n = 16;
  if (Array.isArray(value)) {
    for (const item of value) n += valueBytes(item, depth + 1);
    return n;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) n += valueBytes(k, depth + 1) + valueBytes(v, depth + 1);
    return n;
  }
  if (value instanceof Set) {
    for (const item of value) n += valueBytes(item, depth + 1);
    return n;
  }
  for (const key in value) n += key.length + valueBytes((value as Record<string, unknown>)[key], depth + 1);
  return n;
}

/** What a value nested past {@link MAX_COUNTED_DEPTH} holds, as its JSON's length (no recursion here). */
function deepBytes(value: object): number {
  try {
    return JSON.stringify(value)?.length ?? 8;
  } catch {
    return 1024 * 1024; // a cycle, or too deep for JSON: counted as much, not as nothing
  }
}

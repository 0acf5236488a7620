/**
 * The host's event log: a bounded ring of recent events plus live listeners (SSE). The ring keeps
 * the last `capacity` events and at most `maxBytes` of them: an event may carry a megabyte of a
 * user's streamed text, and 2,000 of those would hold gigabytes.
 */
import type { ContextEvent } from "../../agents/context.ts";

export type EventListener = (event: ContextEvent) => void;

/** Limits of the ring. */
export interface EventLogOptions {
  /** Events kept. @default 2000 */
  capacity?: number;
  /** Bytes the kept events may hold (as {@link eventBytes} counts them); the newest is always kept. @default 64 MiB */
  maxBytes?: number;
}

export class EventLog {
  readonly #events: ContextEvent[] = [];
  /** The size of each kept event, beside it. */
  readonly #sizes: number[] = [];
  readonly #listeners = new Set<EventListener>();
  readonly #capacity: number;
  readonly #maxBytes: number;
  #bytes = 0;
  #nextId = 1;

  constructor(options: EventLogOptions = {}) {
    const { capacity = 2000, maxBytes = 64 * 1024 * 1024 } = options;
    this.#capacity = capacity;
    this.#maxBytes = maxBytes;
  }

  emit(kind: string, fields: Omit<ContextEvent, "id" | "kind" | "at"> = {}): ContextEvent {
    const event: ContextEvent = { id: this.#nextId++, kind, at: Date.now(), ...fields };
    const size = eventBytes(event);
    this.#events.push(event);
    this.#sizes.push(size);
    this.#bytes += size;
    if (this.#events.length > this.#capacity || this.#bytes > this.#maxBytes) this.#trim();
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        // A failing listener must not hide the event from the others; report it once.
        if (kind !== "event-listener-failed") this.emit("event-listener-failed", { error: String(err) });
      }
    }
    return event;
  }

  /** Drops the oldest events until the ring is within its limits (the newest always stays). */
  #trim(): void {
    let drop = Math.max(0, this.#events.length - this.#capacity);
    let bytes = this.#bytes;
    for (let i = 0; i < drop; i++) bytes -= this.#sizes[i];
    while (bytes > this.#maxBytes && drop < this.#events.length - 1) bytes -= this.#sizes[drop++];
    this.#events.splice(0, drop);
    this.#sizes.splice(0, drop);
    this.#bytes = bytes;
  }

  /** Events with id > since (of the given kinds only, when named), oldest first, at most `limit`. */
  since(since = 0, limit = 100, kinds: ReadonlySet<string> | null = null): ContextEvent[] {
    if (this.#events.length === 0) return [];
    // Ids are consecutive and the ring holds the newest of them: the index follows from the id.
    const start = Math.max(0, Math.floor(since) + 1 - this.#events[0].id);
    if (start >= this.#events.length) return [];
    const most = Math.max(1, Math.min(limit, this.#capacity));
    if (!kinds) return this.#events.slice(start, start + most);
    const out: ContextEvent[] = [];
    for (let i = start; i < this.#events.length && out.length < most; i++) {
      if (kinds.has(this.#events[i].kind)) out.push(this.#events[i]);
    }
    return out;
  }

  get lastId(): number {
    return this.#nextId - 1;
  }

  /** Bytes the kept events hold, as {@link eventBytes} counts them. */
  get bytes(): number {
    return this.#bytes;
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Nesting past which an event's data is not counted further (events are plain data, never this deep). */
const MAX_COUNTED_DEPTH = 32;

/**
 * About what an event holds in memory: its strings' lengths and a few bytes for every other value.
 * It walks the event once, without serialising it: most events are a few fields.
 */
export function eventBytes(event: ContextEvent): number {
  return 64 + approximateBytes(event);
}

/** About what a plain value holds in memory (as {@link eventBytes} counts it). */
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

/**
 * The host's event log: a bounded ring of recent events plus live listeners (SSE). The ring keeps
 * the last `capacity` events and at most `maxBytes` of them: an event may carry a megabyte of a
 * user's streamed text, and 2,000 of those would hold gigabytes.
 */
import type { ContextEvent } from "../../agents/context.ts";
import { approximateBytes, BoundedRing } from "../bounded_ring.ts";

export type EventListener = (event: ContextEvent) => void;

/**
 * The mesh's events that say a host is reachable (again): it joined, came back online, or restarted
 * (perhaps at another address). Their data: `{name, url, incarnation}` (mesh_extension.ts).
 */
export const MESH_HOST_BACK: ReadonlySet<string> = new Set([
  "mesh-host-joined",
  "mesh-host-online",
  "mesh-host-restarted",
]);

/** Limits of the ring. */
export interface EventLogOptions {
  /** Events kept. @default 2000 */
  capacity?: number;
  /** Bytes the kept events may hold (as {@link eventBytes} counts them); the newest is always kept. @default 64 MiB */
  maxBytes?: number;
}

/** About what an event holds in memory (its fields as approximateBytes counts them, and its frame). */
export function eventBytes(event: ContextEvent): number {
  return 64 + approximateBytes(event);
}

export class EventLog {
  readonly #ring: BoundedRing<ContextEvent>;
  readonly #listeners = new Set<EventListener>();
  #nextId = 1;

  constructor(options: EventLogOptions = {}) {
    const { capacity = 2000, maxBytes = 64 * 1024 * 1024 } = options;
    this.#ring = new BoundedRing(capacity, maxBytes, eventBytes);
  }

  emit(kind: string, fields: Omit<ContextEvent, "id" | "kind" | "at"> = {}): ContextEvent {
    const event: ContextEvent = { id: this.#nextId++, kind, at: Date.now(), ...fields };
    this.#ring.push(event);
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

  /** Events with id > since (of the given kinds only, when named), oldest first, at most `limit`. */
  since(since = 0, limit = 100, kinds: ReadonlySet<string> | null = null): ContextEvent[] {
    const events = this.#ring.items;
    if (events.length === 0) return [];
    // Ids are consecutive and the ring holds the newest of them: the index follows from the id.
    const start = Math.max(0, Math.floor(since) + 1 - events[0].id);
    if (start >= events.length) return [];
    const most = Math.max(1, Math.min(limit, this.#ring.capacity));
    if (!kinds) return events.slice(start, start + most);
    const out: ContextEvent[] = [];
    for (let i = start; i < events.length && out.length < most; i++) {
      if (kinds.has(events[i].kind)) out.push(events[i]);
    }
    return out;
  }

  get lastId(): number {
    return this.#nextId - 1;
  }

  /** Bytes the kept events hold, as {@link eventBytes} counts them. */
  get bytes(): number {
    return this.#ring.bytes;
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

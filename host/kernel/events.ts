/** The host's event log: a bounded ring of recent events plus live listeners (SSE). */
import type { ContextEvent } from "../../agents/context.ts";

export type EventListener = (event: ContextEvent) => void;

export class EventLog {
  readonly #events: ContextEvent[] = [];
  readonly #listeners = new Set<EventListener>();
  readonly #capacity: number;
  #nextId = 1;

  constructor(capacity = 2000) {
    this.#capacity = capacity;
  }

  emit(kind: string, fields: Omit<ContextEvent, "id" | "kind" | "at"> = {}): ContextEvent {
    const event: ContextEvent = { id: this.#nextId++, kind, at: Date.now(), ...fields };
    this.#events.push(event);
    if (this.#events.length > this.#capacity) this.#events.splice(0, this.#events.length - this.#capacity);
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
    const start = this.#events.findIndex((e) => e.id > since);
    if (start < 0) return [];
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

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

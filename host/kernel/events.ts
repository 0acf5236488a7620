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

  /** Events with id > since, oldest first. */
  since(since = 0, limit = 100): ContextEvent[] {
    const start = this.#events.findIndex((e) => e.id > since);
    if (start < 0) return [];
    return this.#events.slice(start, start + Math.max(1, Math.min(limit, this.#capacity)));
  }

  get lastId(): number {
    return this.#nextId - 1;
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

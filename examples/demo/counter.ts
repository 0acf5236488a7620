/**
 * `demo.counter`: counts and records its lifecycle. Messages: `increment {by}` → `{count}`,
 * `get` → `{count}`, `events` → `{events}` (its last 50 lifecycle events).
 */
import { type LifecycleEvent, type Message, Paglet, PagletError } from "../../agents/mod.ts";

export interface CounterState {
  count: number;
  events: string[];
}

/** Lifecycle events a counter keeps (the newest). */
const MAX_EVENTS = 50;

export class Counter extends Paglet<CounterState> {
  static override readonly type = "demo.counter";

  override initialState(): CounterState {
    return { count: 0, events: [] };
  }

  /** Its last {@link MAX_EVENTS} lifecycle events: a counter that lives long keeps a state of bounded size. */
  #record(event: LifecycleEvent): void {
    const events = this.state.events;
    events.push(`${event.kind}:${this.host.name}`);
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  }

  override onCreation(e: LifecycleEvent) {
    this.#record(e);
  }
  override onArrival(e: LifecycleEvent) {
    this.#record(e);
  }
  override onClone(e: LifecycleEvent) {
    this.#record(e);
  }
  override onDispatching(e: LifecycleEvent) {
    this.#record(e);
  }
  override onDeactivating(e: LifecycleEvent) {
    this.#record(e);
  }
  override onActivation(e: LifecycleEvent) {
    this.#record(e);
  }

  override onMessage(msg: Message) {
    switch (msg.kind) {
      case "increment": {
        const by = msg.args.by ?? 1;
        if (typeof by !== "number" || !Number.isFinite(by)) {
          throw new PagletError(
            "invalid_request",
            `increment: 'by' must be a finite number, got ${quote(by)}`,
          );
        }
        this.state.count += by;
        return { count: this.state.count };
      }
      case "get":
        return { count: this.state.count };
      case "events":
        return { events: this.state.events };
      case "echo":
        return msg.args;
      default:
        return this.notHandled(msg);
    }
  }
}

/** `value` as the caller wrote it, briefly: `"x"`, `[1]`, `{"a":1}` (a bigint as `5n`). */
function quote(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

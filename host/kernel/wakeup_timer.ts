/**
 * Fires timed activations when due: one timer set to the earliest wake-up in the store. Up to
 * {@link WAKE_AT_ONCE} wake-ups run at once, each on its own: one whose `onActivation` is slow holds
 * up no other, and one that ends makes room for the next.
 */
import type { AgentStore } from "../storage/agent_store.ts";
import { cancel, later, type Timer } from "../../agents/timers.ts";

/** Never sleep longer than this, so clock jumps and missed pokes heal. */
const MAX_SLEEP_MS = 30_000;
/** How many wake-ups run at once. */
const WAKE_AT_ONCE = 32;
/** After a wake-up that threw (the database closing), the next look waits this long. */
const FAILED_WAKE_PAUSE_MS = 1000;

export class WakeupTimer {
  readonly #store: AgentStore;
  readonly #wake: (id: string, now: number) => Promise<void>;
  /** Agents being woken: not due again while that runs. */
  readonly #waking = new Set<string>();
  #timer: Timer | undefined;
  #running = false;
  #again = false;
  #closed = false;

  /** `wake(id, now)`: wakes agent `id`, found due at `now`, if it still is. */
  constructor(store: AgentStore, wake: (id: string, now: number) => Promise<void>) {
    this.#store = store;
    this.#wake = wake;
  }

  /** Starts the wake-ups due now and (re)arms the timer for the next. */
  poke(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.#plan();
  }

  async #plan(): Promise<void> {
    this.#running = true;
    try {
      do {
        this.#again = false;
        const now = Date.now();
        const room = WAKE_AT_ONCE - this.#waking.size;
        if (room > 0) {
          for (const id of await this.#store.dueWakeups(now, room, [...this.#waking])) this.#start(id, now);
        }
        cancel(this.#timer);
        if (this.#closed) return;
        // With no room left, a wake-up that ends pokes.
        const next = this.#waking.size >= WAKE_AT_ONCE
          ? null
          : await this.#store.nextWakeup([...this.#waking]);
        const delay = next === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, next - Date.now()));
        this.#timer = later(delay, () => this.poke());
      } while (this.#again && !this.#closed);
    } catch {
      // The database is closing; the next poke retries.
    } finally {
      this.#running = false;
    }
  }

  #start(id: string, now: number): void {
    this.#waking.add(id);
    void this.#wake(id, now).then(
      () => this.#ended(id, 0),
      () => this.#ended(id, FAILED_WAKE_PAUSE_MS),
    );
  }

  #ended(id: string, pauseMs: number): void {
    this.#waking.delete(id);
    // Through a timer, never in the same turn: a look that finds work due again must leave the
    // event loop its turn (replies, deadlines, HTTP) before the next.
    later(pauseMs, () => this.poke(), { ref: false });
  }

  close(): void {
    this.#closed = true;
    cancel(this.#timer);
  }
}

/** Fires timed activations exactly when due: one timer set to the earliest wake-up in the store. */
import type { AgentStore } from "../storage/agent_store.ts";
import { cancel, later, type Timer } from "../../agents/timers.ts";

/** Never sleep longer than this, so clock jumps and missed pokes heal. */
const MAX_SLEEP_MS = 30_000;

export class WakeupTimer {
  readonly #store: AgentStore;
  readonly #wake: (now: number) => Promise<number>;
  #timer: Timer | undefined;
  #running = false;
  #again = false;
  #closed = false;

  constructor(store: AgentStore, wake: (now: number) => Promise<number>) {
    this.#store = store;
    this.#wake = wake;
  }

  /** Re-reads the earliest wake-up and (re)arms the timer. */
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
        if ((await this.#store.dueWakeups(now, 1)).length > 0) await this.#wake(now);
        const next = await this.#store.nextWakeup();
        cancel(this.#timer);
        if (this.#closed) return;
        const delay = next === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, next - Date.now()));
        this.#timer = later(delay, () => this.poke());
      } while (this.#again && !this.#closed);
    } catch {
      // The database is closing; the next poke retries.
    } finally {
      this.#running = false;
    }
  }

  close(): void {
    this.#closed = true;
    cancel(this.#timer);
  }
}

/**
 * Fires timed activations when due: one timer set to the earliest wake-up in the store. Up to
 * {@link WAKE_AT_ONCE} wake-ups run at once, each on its own: one whose `onActivation` is slow holds
 * up no other, and one that ends makes room for the next. {@link WakeupTimer.close} starts no more
 * and waits for those under way, so none starts an agent or writes once the host has stopped.
 *
 * @example
 * ```ts
 * const wakeups = new WakeupTimer(store, (id, now) => runtime.wake(id, now));
 * wakeups.poke(); // starts what is due, and sets the timer for the next
 * await wakeups.close();
 * ```
 */
import type { AgentStore } from "../storage/agent_store.ts";
import { cancel, later, type Timer } from "../../agents/timers.ts";

/** Never sleep longer than this, so clock jumps and missed pokes heal. */
const MAX_SLEEP_MS = 30_000;
/** How many wake-ups run at once. */
const WAKE_AT_ONCE = 32;
/** After a wake-up that threw (the database closing), the next look waits this long. */
const FAILED_WAKE_PAUSE_MS = 1000;

/** What the timer reads of the store: the wake-ups due, and when the next one is. */
export type WakeupSchedule = Pick<AgentStore, "dueWakeups" | "nextWakeup">;

export class WakeupTimer {
  readonly #store: WakeupSchedule;
  readonly #wake: (id: string, now: number) => Promise<void>;
  /** Agents being woken, with their wake-up under way: not due again while that runs. */
  readonly #waking = new Map<string, Promise<void>>();
  #timer: Timer | undefined;
  /** The look under way, if any (see {@link close}). */
  #look: Promise<void> | undefined;
  #running = false;
  #again = false;
  #closed = false;

  /** `wake(id, now)`: wakes agent `id`, found due at `now`, if it still is. */
  constructor(store: WakeupSchedule, wake: (id: string, now: number) => Promise<void>) {
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
    this.#look = this.#plan();
  }

  /**
   * No more wake-ups (the host stops); those due wait for the next start. Resolves once the look and
   * the wake-ups under way have ended (each within the deadline of the hook it runs): the host
   * deactivates its agents and closes its store after that, so a wake-up neither starts an agent the
   * stop would miss nor writes to a closed store.
   */
  async close(): Promise<void> {
    this.#closed = true;
    cancel(this.#timer);
    await this.#look;
    await Promise.all(this.#waking.values());
  }

  async #plan(): Promise<void> {
    this.#running = true;
    try {
      do {
        this.#again = false;
        const now = Date.now();
        const room = WAKE_AT_ONCE - this.#waking.size;
        const due = room > 0 ? await this.#store.dueWakeups(now, room, [...this.#waking.keys()]) : [];
        if (this.#closed) return;
        for (const id of due) this.#start(id, now);
        // With no room left, a wake-up that ends pokes.
        const next = this.#waking.size >= WAKE_AT_ONCE
          ? null
          : await this.#store.nextWakeup([...this.#waking.keys()]);
        if (this.#closed) return;
        const delay = next === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, next - Date.now()));
        cancel(this.#timer);
        this.#timer = later(delay, () => this.poke());
      } while (this.#again && !this.#closed);
    } catch {
      // The database is closing; the next poke retries.
    } finally {
      this.#running = false;
    }
  }

  #start(id: string, now: number): void {
    this.#waking.set(
      id,
      this.#wake(id, now).then(
        () => this.#ended(id, 0),
        () => this.#ended(id, FAILED_WAKE_PAUSE_MS),
      ),
    );
  }

  #ended(id: string, pauseMs: number): void {
    this.#waking.delete(id);
    // Through a timer, never in the same turn: a look that finds work due again must leave the
    // event loop its turn (replies, deadlines, HTTP) before the next.
    later(pauseMs, () => this.poke(), { ref: false });
  }
}

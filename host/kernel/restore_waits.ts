/**
 * Restores that wait for their travelling code: agents the host could not bring back because no
 * host it could ask had their module (`code_unavailable`). Each is tried again while the host runs:
 * {@link retryDelayMs} after each failure, and early when {@link RestoreWaits.retryAll} says a host
 * that may have the code is reachable (again), a few times between two timed tries (`EARLY_TRIES`,
 * start_retries.ts, as failed timed wake-ups are). The waiting agent's record is not touched by a
 * try that fails, so a stop meanwhile loses nothing: the next start tries again. {@link RestoreWaits.close}
 * starts no more tries and waits for those under way, so none starts an agent or writes once the
 * host has stopped.
 *
 * @example
 * ```ts
 * const waits = new RestoreWaits(async (id) => void await bringBack(id));
 * const { retryAt } = waits.wait("ag_1"); // a minute from now, unless retryAll() comes first
 * await waits.close();
 * ```
 */
import { cancel, later, type Timer } from "../../agents/timers.ts";
import { forEachLimited } from "../../agents/limited.ts";
import { EarlyTries, retryDelayMs } from "./start_retries.ts";

/** How many waiting restores are tried at once. */
const TRIES_AT_ONCE = 16;

/** Options of {@link RestoreWaits}. */
export interface RestoreWaitsOptions {
  /** How long after its `failures`th failure a restore is tried again. @default retryDelayMs */
  delayMs?: (failures: number) => number;
}

/** When a waiting restore is tried next, and how many tries failed so far. */
export interface NextTry {
  retryAt: number;
  failures: number;
}

/**
 * A waiting restore: its next timed try, its early tries since the last timed one, and (an
 * arrival's) the host it came from, asked for its code at each try.
 */
interface Waiting extends NextTry {
  early: EarlyTries;
  source?: string;
}

export class RestoreWaits {
  readonly #retry: (id: string) => Promise<void>;
  readonly #delayMs: (failures: number) => number;
  /** Per waiting agent: its next try. A try that leaves the agent waiting replaces the entry. */
  readonly #waiting = new Map<string, Waiting>();
  #timer: Timer | undefined;
  /** The rounds under way, if any (see {@link close}). */
  #round: Promise<void> | undefined;
  #running = false;
  /** A {@link retryAll} came while a round ran: one more round of its kind follows. */
  #again: "early" | "all" | undefined;
  #closed = false;

  /**
   * `retry(id)` tries the restore of `id` once; it calls {@link wait} again if the agent still waits
   * for its code (else the wait is over: restored, gone, or waiting for something a try cannot get).
   */
  constructor(retry: (id: string) => Promise<void>, { delayMs = retryDelayMs }: RestoreWaitsOptions = {}) {
    this.#retry = retry;
    this.#delayMs = delayMs;
  }

  /**
   * Records that `id` waits (one more failure) and returns its next try; `source`: a host to ask for
   * its code at each try (an arrival's source; kept from an earlier call when not given).
   */
  wait(id: string, source?: string): NextTry {
    const last = this.#waiting.get(id);
    const failures = (last?.failures ?? 0) + 1;
    const retryAt = Date.now() + this.#delayMs(failures);
    this.#waiting.set(id, {
      retryAt,
      failures,
      early: EarlyTries.after(last?.early),
      source: source ?? last?.source,
    });
    if (!this.#running) this.#arm();
    return { retryAt, failures };
  }

  /** The host to ask for the code of `id` besides the mesh's, if it waits and has one. */
  sourceOf(id: string): string | undefined {
    return this.#waiting.get(id)?.source;
  }

  /** How many tries of `id`'s restore failed in a row, if it waits. */
  failures(id: string): number | undefined {
    return this.#waiting.get(id)?.failures;
  }

  /** The wait of `id` is over by another way (it started, or it is gone from this host). */
  forget(id: string): void {
    this.#waiting.delete(id);
  }

  /** How many restores wait. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Tries now every waiting restore that has early tries left (a host that may have their code is
   * reachable); the others wait for their timed try. `all` (a module was uploaded here: an operator's
   * act, not a host that keeps coming back): every waiting restore, none spending an early try; a
   * failed one counts as a timed try does.
   */
  retryAll(all = false): void {
    if (this.#closed || this.#waiting.size === 0) return;
    if (this.#running) {
      if (all) this.#again = "all";
      else this.#again ??= "early";
      return;
    }
    this.#start(all ? "all" : "early");
  }

  /**
   * No more tries (the host stops); the agents wait for the next start. Resolves once the tries under
   * way have ended: the host stops the agents and closes its store after that, so a try neither
   * starts an agent the stop would miss nor writes to a closed store.
   */
  async close(): Promise<void> {
    this.#closed = true;
    cancel(this.#timer);
    await this.#round;
  }

  #start(kind: "timed" | "early" | "all"): void {
    this.#round = this.#rounds(kind);
  }

  /**
   * Tries the restores due (`timed`: those whose time came; `early`: those with an early try left,
   * each counted as tried early; `all`: every one), then the round a retryAll() asked for meanwhile.
   */
  async #rounds(kind: "timed" | "early" | "all"): Promise<void> {
    this.#running = true;
    cancel(this.#timer);
    try {
      for (let round: typeof kind | undefined = kind; round !== undefined && !this.#closed;) {
        this.#again = undefined;
        const now = Date.now();
        const due = [...this.#waiting].filter(([, next]) =>
          round === "all" || (round === "early" ? next.early.take() : next.retryAt <= now)
        );
        await forEachLimited(due, TRIES_AT_ONCE, async ([id, next]) => {
          if (this.#closed) return;
          try {
            await this.#retry(id);
            // Unless the try waits again (a new entry), the wait is over.
            if (this.#waiting.get(id) === next) this.forget(id);
          } catch {
            // The store failed it (the database closing): the agent waits as before.
            if (this.#waiting.get(id) === next) this.wait(id);
          }
        });
        round = this.#again;
      }
    } finally {
      this.#running = false;
      this.#arm();
    }
  }

  /** Sets the one timer to the earliest next try. */
  #arm(): void {
    cancel(this.#timer);
    if (this.#closed || this.#waiting.size === 0) return;
    let first = Infinity;
    for (const next of this.#waiting.values()) first = Math.min(first, next.retryAt);
    this.#timer = later(Math.max(0, first - Date.now()), () => this.#start("timed"), { ref: false });
  }
}

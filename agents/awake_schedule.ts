/**
 * A paglet that sleeps (deactivated) between the steps of a schedule, kept to that schedule when it
 * cannot sleep.
 *
 * A host that cannot store a paglet asleep (a full disk, say) keeps it running: it starts the
 * paglet again in a new instance, with `run()` and no wake-up (no `onActivation`). A paglet whose
 * `run()` then takes its next step at once (a report tried again, a slot asked for again) fails to
 * sleep after it again, and is started again: a loop with no pause, of store writes and of whatever
 * the step does. With an `AwakeSchedule` the paglet keeps to its schedule awake instead: an instance
 * that could not sleep takes its next step from a timer when it is due, and a new instance that
 * nothing woke waits for the step's time likewise. A wake-up (a message, a restart of its host, a
 * due time, an arrival on another host) makes the step due at once, as before. Whether the instance
 * was woken is the paglet's one fact, which every schedule of it reads (`woken`); a compute job keeps
 * it for its own and its subclasses' schedules (`ComputeJobPaglet.awakeSchedule()`).
 *
 * @example
 * ```ts
 * import { AwakeSchedule } from "./awake_schedule.ts";
 * import { Paglet, type LifecycleEvent } from "./paglet.ts";
 *
 * class Poller extends Paglet<{ nextAt: number }> {
 *   static override readonly type = "example.poller";
 *   #woken = false;
 *   readonly #schedule = new AwakeSchedule(() => this.context, () => this.#woken);
 *   override initialState() { return { nextAt: 0 }; }
 *   override onActivation(_event: LifecycleEvent) { this.#woken = true; }
 *   override run() {
 *     if (!this.#schedule.defers(this.state.nextAt, () => this.run())) void this.#poll();
 *   }
 *   async #poll() {
 *     // ... the step; then sleep until the next one:
 *     this.state.nextAt = Date.now() + 60_000;
 *     await this.#schedule.sleep({ activateAt: this.state.nextAt }, this.state.nextAt, () => this.run());
 *   }
 * }
 * ```
 *
 * @module
 */
import type { PagletContext } from "./context.ts";
import { PagletError } from "./errors.ts";
import type { PolicyInput } from "./policy.ts";
import { cancel, later, type Timer } from "./timers.ts";

/** What of its paglet's context a schedule uses. */
export type ScheduleContext = Pick<PagletContext, "deactivate" | "isCurrent">;

/** One instance's side of its paglet's schedule; see the module documentation. */
export class AwakeSchedule {
  readonly #context: () => ScheduleContext;
  readonly #woken: () => boolean;
  #timer: Timer | undefined;

  /**
   * `context`: the paglet's context (a function: an instance gets it after its construction);
   * `woken`: whether this instance of the paglet was woken (activated, or arrived on a host), when
   * its next step is due at once.
   */
  constructor(context: () => ScheduleContext, woken: () => boolean) {
    this.#context = context;
    this.#woken = woken;
  }

  /**
   * Whether the step due at `at` (epoch ms) waits: in an instance nothing woke (its host started it
   * again after it could not store it asleep), while `at` is still to come. `step` then runs from a
   * timer at `at`.
   */
  defers(at: number, step: () => void): boolean {
    if (this.#woken() || !(at > Date.now())) return false;
    this.at(at, step);
    return true;
  }

  /**
   * Deactivates the paglet with `policy`; null once it sleeps. When it cannot (its host could not
   * store it; a new instance of it runs on then, and keeps to the schedule through {@link defers}),
   * `step` runs from a timer at `at` in this instance while it is still the paglet's, and the error
   * is returned.
   */
  async sleep(policy: PolicyInput, at: number, step: () => void): Promise<PagletError | null> {
    try {
      await this.#context().deactivate(policy);
      return null;
    } catch (err) {
      this.at(at, step);
      return PagletError.from(err);
    }
  }

  /** Runs `step` at `at` from a timer (instead of one set before), if this instance is still the paglet's. */
  at(at: number, step: () => void): void {
    cancel(this.#timer);
    this.#timer = later(Math.max(0, at - Date.now()), () => {
      this.#timer = undefined;
      if (this.#context().isCurrent()) step();
    });
  }
}

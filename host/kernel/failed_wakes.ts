/**
 * Timed wake-ups that failed, while the host runs: each is tried again {@link retryDelayMs} after its
 * failure (the store's wake-up time says when, so a restart keeps it), and one whose cause may pass
 * (its travelling code no host it could ask had, a worker that ended under it, a host that did not
 * answer) also early, when a host of the mesh joins, comes back online or restarts
 * ({@link FailedWakes.takeEarly}), a few times between two timed tries (`EARLY_TRIES`,
 * start_retries.ts).
 *
 * @example
 * ```ts
 * import { PagletError } from "../../agents/errors.ts";
 * const wakes = new FailedWakes();
 * wakes.failed("ag_1", new PagletError("code_unavailable", "no host has it"));
 * // { failures: 1, retryAt: …, early: true }
 * wakes.takeEarly(); // ["ag_1"]: a host came back; its wake-up is due now
 * ```
 *
 * @module
 */
import { mayPass, PagletError } from "../../agents/errors.ts";
import { EarlyTries, retryDelayMs } from "./start_retries.ts";

/** Why a start fails that another host coming back may mend: travelling code no host had. */
const CODE_MAY_COME = new Set(["code_unavailable", "host_unreachable"]);

/** A wake-up that failed: how often in a row, whether a host coming back may mend it, and its early tries. */
interface FailedWake {
  failures: number;
  mayPass: boolean;
  early: EarlyTries;
}

/**
 * When a failed wake-up is tried next, how many tries failed in a row, and whether a host that comes
 * back tries it early.
 */
export interface NextWake {
  failures: number;
  retryAt: number;
  early: boolean;
}

export class FailedWakes {
  readonly #wakes = new Map<string, FailedWake>();

  /** The wake-up of `id` failed with `err`: one more failure, and the time of its next timed try. */
  failed(id: string, err: unknown): NextWake {
    const last = this.#wakes.get(id);
    const failures = (last?.failures ?? 0) + 1;
    const error = PagletError.from(err);
    const wake = {
      failures,
      mayPass: mayPass(error) || CODE_MAY_COME.has(error.code),
      early: EarlyTries.after(last?.early),
    };
    this.#wakes.set(id, wake);
    return { failures, retryAt: Date.now() + retryDelayMs(failures), early: wake.mayPass && wake.early.left };
  }

  /** The wake-up of `id` succeeded, or it is no longer asleep here: its run of failures is over. */
  forget(id: string): void {
    this.#wakes.delete(id);
  }

  /** How many failed wake-ups are tried again. */
  get size(): number {
    return this.#wakes.size;
  }

  /**
   * A host of the mesh is reachable (again): the failed wake-ups it may mend that have early tries
   * left, each counted as tried early; the caller makes them due now. `all` (a module was uploaded
   * here): every one it may mend, none spending an early try (a failure counts as a timed try's).
   */
  takeEarly(all = false): string[] {
    const ids: string[] = [];
    for (const [id, wake] of this.#wakes) {
      if (wake.mayPass && (all || wake.early.take())) ids.push(id);
    }
    return ids;
  }
}

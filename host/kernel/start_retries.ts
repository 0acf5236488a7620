/**
 * When a start that failed is tried again, the one rule of timed wake-ups (failed_wakes.ts) and of
 * restores waiting for their code (restore_waits.ts): a timed try {@link retryDelayMs} after each
 * failure, and early tries, when a host of the mesh joins, comes back online or restarts, at most
 * {@link EARLY_TRIES} between two timed ones ({@link EarlyTries}): a host that keeps dropping and
 * rejoining does not make the host try the same start again and again. Each early try that fails
 * counts as a failure, so the next timed one comes twice as late.
 *
 * @example
 * ```ts
 * let early = EarlyTries.after(undefined); // a first failure: EARLY_TRIES early tries left
 * early.take(); // true: a host is back, the start is tried now
 * early = EarlyTries.after(early); // that try failed: EARLY_TRIES - 1 left until the timed one
 * retryDelayMs(2); // 120_000: the timed try, two minutes after the second failure
 * ```
 *
 * @module
 */

/** The first timed try comes this much after a failure, twice as late after each further one. */
const RETRY_MS = 60_000;
/** The longest pause between two timed tries. */
const RETRY_MAX_MS = 3_600_000;
/** Early tries of one failed start between two timed ones. */
export const EARLY_TRIES = 3;

/**
 * How long after its `failures`th failure in a row a failed start is tried again: a minute, then
 * twice as long each time, up to an hour.
 */
export function retryDelayMs(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** Math.max(0, failures - 1));
}

/** The early tries of one failed start since its last timed try. */
export class EarlyTries {
  #spent: number;
  /** The try under way (after {@link take}) is an early one. */
  #taken = false;

  private constructor(spent: number) {
    this.#spent = spent;
  }

  /**
   * The early tries after one more failure, the try that failed having had `last` (none for a first
   * failure): those spent stay spent after an early try; a timed one (or a first failure) spends none.
   */
  static after(last: EarlyTries | undefined): EarlyTries {
    return new EarlyTries(last !== undefined && last.#taken ? last.#spent : 0);
  }

  /** Whether an early try is left before the next timed one. */
  get left(): boolean {
    return this.#spent < EARLY_TRIES;
  }

  /** Takes an early try if one is left and none is under way: the caller tries the start now. */
  take(): boolean {
    if (this.#taken || !this.left) return false;
    this.#spent += 1;
    this.#taken = true;
    return true;
  }
}

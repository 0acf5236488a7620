/**
 * How a compute job's driver answers a call that failed in a way that may pass (compute-slots not
 * answering in time, its host starting or stopping): it tries again after a pause that doubles from
 * `driverRetrySeconds` up to `driverRetryMaxSeconds`, at most `driverRetryLimit` times in a row, and
 * then fails the job naming the last error and the number of attempts. The count lives in the job's
 * state, so a restart of the job's host or a deactivation does not start it over; a slot request
 * that gets an answer does.
 *
 * @example
 * ```ts
 * import { computeJobDefaults } from "./compute_job_state.ts";
 * import { PagletError } from "./errors.ts";
 * import { nextDriverRetry } from "./compute_job_retries.ts";
 *
 * const state = computeJobDefaults({ driverRetryLimit: 1, driverRetrySeconds: 2 });
 * const error = new PagletError("timeout", "compute-slots/request-slot did not answer");
 * nextDriverRetry(state, error); // { retry: true, pauseMs: 2000 }
 * nextDriverRetry(state, error); // { retry: false, error: "compute job driver gave up after 2 attempts …" }
 * ```
 *
 * @module
 */
import type { ComputeJobState } from "./compute_job_state.ts";
import type { PagletError } from "./errors.ts";

/** Defaults of the retry options: in `computeJobDefaults()`, and for states stored before these fields existed. */
export const DRIVER_RETRY_DEFAULTS = {
  driverRetryLimit: 10,
  driverRetrySeconds: 2,
  driverRetryMaxSeconds: 60,
} as const;

/** The fields of a compute job's state the driver's retries read and write. */
export type DriverRetryState =
  & Pick<
    ComputeJobState,
    "driverRetryLimit" | "driverRetrySeconds" | "driverRetryMaxSeconds" | "driverRetries" | "driverError"
  >
  & Partial<Pick<ComputeJobState, "prepareRetries">>;

/** What comes after a failure that may pass: a try again after `pauseMs`, or the end, with `error`. */
export type DriverRetry = { retry: true; pauseMs: number } | { retry: false; error: string };

/**
 * How a run of retries is bounded: at most `limit`, the pauses doubling from `firstSeconds` up to
 * `maxSeconds`.
 */
export interface RetryBound {
  /** The state field that sets `limit`, named in the error of a run that gives up. */
  limitName: string;
  limit: number;
  firstSeconds: number;
  maxSeconds: number;
}

/**
 * After a failure that may pass, `retries` retries into a run: the pause before the next try, or,
 * past `bound.limit`, the error that ends the run naming the attempts made and `lastError`. The
 * driver's retries follow it, and so do the reports of a group's jobs (job_groups/collecting_job.ts).
 *
 * @example
 * ```ts
 * import { boundedRetry } from "./compute_job_retries.ts";
 *
 * const bound = { limitName: "reportRetryLimit", limit: 1, firstSeconds: 5, maxSeconds: 300 };
 * boundedRetry(0, bound, "report", "[timeout] no answer"); // { retry: true, pauseMs: 5000 }
 * boundedRetry(1, bound, "report", "[timeout] no answer");
 * // { retry: false, error: "report gave up after 2 attempts (reportRetryLimit 1): [timeout] no answer" }
 * ```
 */
export function boundedRetry(
  retries: number,
  bound: RetryBound,
  what: string,
  lastError: string,
): DriverRetry {
  if (retries >= bound.limit) {
    return {
      retry: false,
      error: `${what} gave up after ${
        attempts(retries + 1)
      } (${bound.limitName} ${bound.limit}): ${lastError}`,
    };
  }
  return { retry: true, pauseMs: Math.min(bound.maxSeconds, bound.firstSeconds * 2 ** retries) * 1000 };
}

/**
 * Retries in a row under way, of the driver's scheduler calls and of `prepareCompute()`: what
 * `compute_status` and `jobs ps` show as `driverRetries` (the stored fields of older states may be
 * missing).
 */
export function retriesInARow(
  state: Partial<Pick<ComputeJobState, "driverRetries" | "prepareRetries">>,
): number {
  return (Number(state.driverRetries) || 0) + (Number(state.prepareRetries) || 0);
}

/** "1 attempt", "2 attempts", … */
export function attempts(n: number): string {
  return n === 1 ? "1 attempt" : `${n} attempts`;
}

/** Records a failure that may pass in `state` and says whether the driver tries again. */
export function nextDriverRetry(state: DriverRetryState, error: PagletError): DriverRetry {
  return nextRetry(state, error, "driverRetries", "compute job driver");
}

/**
 * Records a `prepareCompute()` that failed in a way that may pass (an input's host restarting or
 * unreachable a moment) and says whether the job asks for a slot again: counted apart from the
 * driver's calls (`prepareRetries`, back to 0 once a `prepareCompute()` succeeds), within the same
 * limit and pauses.
 */
export function nextPrepareRetry(state: DriverRetryState, error: PagletError): DriverRetry {
  return nextRetry(state, error, "prepareRetries", "prepareCompute");
}

function nextRetry(
  state: DriverRetryState,
  error: PagletError,
  count: "driverRetries" | "prepareRetries",
  what: string,
): DriverRetry {
  // A state stored before these fields existed gets the defaults.
  state.driverRetryLimit ??= DRIVER_RETRY_DEFAULTS.driverRetryLimit;
  state.driverRetrySeconds ??= DRIVER_RETRY_DEFAULTS.driverRetrySeconds;
  state.driverRetryMaxSeconds ??= DRIVER_RETRY_DEFAULTS.driverRetryMaxSeconds;
  const retries = state[count] ?? 0;
  state.driverError = `[${error.code}] ${error.message}`;
  const next = boundedRetry(
    retries,
    {
      limitName: "driverRetryLimit",
      limit: state.driverRetryLimit,
      firstSeconds: state.driverRetrySeconds,
      maxSeconds: state.driverRetryMaxSeconds,
    },
    what,
    state.driverError,
  );
  if (next.retry) state[count] = retries + 1;
  return next;
}

/**
 * A slot request of the job got an answer (a scheduler took it): the next failure counts from 0.
 * True when that changed `state`.
 */
export function resetDriverRetries(state: DriverRetryState): boolean {
  if (!state.driverRetries && (!state.driverError || state.prepareRetries)) return false;
  state.driverRetries = 0;
  // A run of prepareCompute() failures keeps its last error until one succeeds.
  if (!state.prepareRetries) state.driverError = "";
  return true;
}

/** A `prepareCompute()` succeeded: its run of failures, if any, is over. True when that changed `state`. */
export function resetPrepareRetries(state: DriverRetryState): boolean {
  if (!state.prepareRetries) return false;
  state.prepareRetries = 0;
  if (!state.driverRetries) state.driverError = "";
  return true;
}

/**
 * When a job waiting for a slot that its host could not store asleep (a full disk) asks for its
 * slot again and tries to sleep again: after a pause as long as it has waited in WAITING_FOR_SLOT
 * (`computeStatusAt`), so the pauses double, from `driverRetrySeconds` up to
 * `driverRetryMaxSeconds`. Such tries are not retries of a failure: they never fail the job.
 *
 * @example
 * ```ts
 * import { computeJobDefaults } from "./compute_job_state.ts";
 * import { nextSlotTryAt } from "./compute_job_retries.ts";
 *
 * const state = computeJobDefaults({ computeStatus: "WAITING_FOR_SLOT", computeStatusAt: 10_000 });
 * nextSlotTryAt(state, 10_000); // 12_000: 2 s at first
 * nextSlotTryAt(state, 20_000); // 30_000: as long as it waited
 * nextSlotTryAt(state, 1_000_000); // 1_060_000: 60 s at most
 * ```
 */
export function nextSlotTryAt(
  state: Pick<ComputeJobState, "computeStatusAt" | "driverRetrySeconds" | "driverRetryMaxSeconds">,
  now: number,
): number {
  const first = (state.driverRetrySeconds ?? DRIVER_RETRY_DEFAULTS.driverRetrySeconds) * 1000;
  const most = (state.driverRetryMaxSeconds ?? DRIVER_RETRY_DEFAULTS.driverRetryMaxSeconds) * 1000;
  const waited = now - (state.computeStatusAt || now);
  return now + Math.min(most, Math.max(first, waited));
}

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

/** What the driver does next: try again after `pauseMs`, or fail the job with `error`. */
export type DriverRetry = { retry: true; pauseMs: number } | { retry: false; error: string };

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
  if (retries >= state.driverRetryLimit) {
    return {
      retry: false,
      error: `${what} gave up after ${retries + 1} attempts ` +
        `(driverRetryLimit ${state.driverRetryLimit}): ${state.driverError}`,
    };
  }
  state[count] = retries + 1;
  const pauseSeconds = Math.min(state.driverRetryMaxSeconds, state.driverRetrySeconds * 2 ** retries);
  return { retry: true, pauseMs: pauseSeconds * 1000 };
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

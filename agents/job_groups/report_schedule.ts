/**
 * When a group's job tries its report again after a try failed: on its own schedule, with pauses
 * doubling from `reportRetrySeconds` up to `reportRetryMaxSeconds`, at most `reportRetryLimit`
 * times (the bound of the compute driver's retries, compute_job_retries.ts); then it gives the report
 * up. A try made before the schedule says, because a message or a restart of its host woke the job,
 * neither counts nor moves the schedule: however often the job is woken, it gives up when its
 * schedule ends, about 75 minutes after the first failure with the defaults (later only by the time
 * its host was down when a try was due).
 *
 * @example
 * ```ts
 * import { collectingJobDefaults } from "./collecting_job_state.ts";
 * import { PagletError } from "../errors.ts";
 * import { nextReportTry } from "./report_schedule.ts";
 *
 * const state = collectingJobDefaults({ reportRetryLimit: 1, reportRetrySeconds: 5 });
 * const down = new PagletError("host_unreachable", "Cannot reach http://laptop:8765");
 * state.reportAttempts = 1;
 * nextReportTry(state, down, 0); // { retry: true, at: 5000 }
 * state.reportAttempts = 2;
 * nextReportTry(state, down, 1000); // woken early: { retry: true, at: 5000 }, not counted
 * state.reportAttempts = 3;
 * nextReportTry(state, down, 5000); // { retry: false, error: "report gave up after 2 attempts …" }
 * ```
 *
 * @module
 */
import type { PagletError } from "../errors.ts";
import { attempts, boundedRetry } from "../compute_job_retries.ts";
import { type CollectingComputeJobState, REPORT_RETRY_LIMIT } from "./collecting_job_state.ts";

/** Errors a retry cannot fix: the report itself is wrong, or the collector cannot take it. */
const FINAL_ERRORS = new Set(["invalid_request", "not_handled", "invalid_state", "unknown_agent_type"]);
/** How many tries on schedule "no such collector" is believed before the report is given up. */
const NOT_FOUND_ATTEMPTS = 10;

/** The fields of a group job's state its report's schedule reads and writes. */
export type ReportScheduleState =
  & Pick<
    CollectingComputeJobState,
    "reportAttempts" | "reportError" | "reportRetrySeconds" | "reportRetryMaxSeconds"
  >
  & Partial<Pick<CollectingComputeJobState, "reportRetryLimit" | "reportRetries" | "reportNextTryAt">>;

/** After a failed try: the next one at `at` (epoch ms), or the end, with `error`. */
export type ReportTry = { retry: true; at: number } | { retry: false; error: string };

/**
 * After the `reportAttempts`th try failed with `error` at `now`: when the next try is due, or the
 * error that gives the report up. Records the error, and on schedule the retry, in `state`.
 */
export function nextReportTry(state: ReportScheduleState, error: PagletError, now = Date.now()): ReportTry {
  const lastError = `[${error.code}] ${error.message}`;
  state.reportError = lastError;
  // A state stored before these fields existed: every try so far was on schedule.
  state.reportRetryLimit ??= REPORT_RETRY_LIMIT;
  state.reportRetries ??= Math.max(0, state.reportAttempts - 1);
  const due = state.reportNextTryAt ?? 0;
  const onSchedule = now >= due;
  if (
    FINAL_ERRORS.has(error.code) ||
    (error.code === "agent_not_found" && onSchedule && state.reportRetries + 1 >= NOT_FOUND_ATTEMPTS)
  ) {
    return { retry: false, error: `report gave up after ${attempts(state.reportAttempts)}: ${lastError}` };
  }
  if (!onSchedule) return { retry: true, at: due };
  const next = boundedRetry(
    state.reportRetries,
    {
      limitName: "reportRetryLimit",
      limit: state.reportRetryLimit,
      firstSeconds: state.reportRetrySeconds,
      maxSeconds: state.reportRetryMaxSeconds,
    },
    "report",
    lastError,
  );
  if (!next.retry) return next;
  state.reportRetries += 1;
  state.reportNextTryAt = now + next.pauseMs;
  return { retry: true, at: state.reportNextTryAt };
}

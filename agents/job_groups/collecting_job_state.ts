/**
 * The state of a {@link CollectingComputeJobPaglet}: a compute job's state (estimates, host tags,
 * placement) plus its place in a group and the bookkeeping of its one report to the collector.
 *
 * @module
 */
import { z } from "zod";
import type { ArtifactRef } from "../artifacts.ts";
import {
  boundedNumber,
  computeJobDefaults,
  computeJobSchema,
  type ComputeJobState,
} from "../compute_job_state.ts";
import type { JobReport } from "./contract.ts";

/**
 * Where the job's report is: none yet, on its way (retried until accepted, at most
 * `reportRetryLimit` times on its schedule), accepted, given up (kept in `pendingReport`, see
 * `reportError`).
 */
export type ReportStatus = "NONE" | "PENDING" | "SENT" | "UNDELIVERABLE";

/** A file result that `reportComputeArtifact()` asked for and the job has not uploaded yet. */
export interface ArtifactRequest {
  path: string;
  name: string;
  move: boolean;
  result: Record<string, unknown>;
}

/** The default of `reportRetryLimit`, also for states stored before the field existed. */
export const REPORT_RETRY_LIMIT = 20;

/** The fields a compute job of a group carries. */
export interface CollectingComputeJobState extends ComputeJobState {
  groupId: string;
  /** The job's key in its group (`<group>-0001`, … unless the submitter named it). */
  jobKey: string;
  /** The collector to report to. */
  collectorAgentId: string;
  collectorHostUrl: string;
  /** Timeout of one report (or upload). @default 5 */
  reportTimeoutSeconds: number;
  /** First wait before a failed report is tried again; doubles up to `reportRetryMaxSeconds`. @default 5 */
  reportRetrySeconds: number;
  /** @default 300 */
  reportRetryMaxSeconds: number;
  /**
   * How often a report whose try failed is tried again on the job's schedule before the job gives it
   * up (`UNDELIVERABLE`); with the default pauses, about 75 minutes after the first failure. Tries
   * made earlier, when a message or a restart of its host woke the job, do not count. 0 gives up at
   * the first failure.
   * @default 20
   */
  reportRetryLimit: number;
  /** The job disposes itself once its report was accepted. @default true */
  disposeAfterReport: boolean;
  reportStatus: ReportStatus;
  /** The report on its way, kept in the state so a restart retries the very same report. */
  pendingReport: { kind: "result" | "failure"; report: JobReport } | null;
  /** Tries of the report so far (the first included, and those made early). */
  reportAttempts: number;
  /** Retries on the job's schedule so far: what `reportRetryLimit` bounds (report_schedule.ts). */
  reportRetries: number;
  /** When the next try on the job's schedule is due (epoch ms); 0 before a try failed. */
  reportNextTryAt: number;
  /** Why the last try failed; once the report is given up, why and after how many attempts. */
  reportError: string;
  artifactRequest: ArtifactRequest | null;
  /** The uploaded file result, once on the collector's host. */
  artifactRef: ArtifactRef | null;
}

/** The defaults of a collecting job's state; spread them into `initialState()`. */
export function collectingJobDefaults(
  estimates: Partial<CollectingComputeJobState> = {},
): CollectingComputeJobState {
  return {
    ...computeJobDefaults(),
    groupId: "",
    jobKey: "",
    collectorAgentId: "",
    collectorHostUrl: "",
    reportTimeoutSeconds: 5,
    reportRetrySeconds: 5,
    reportRetryMaxSeconds: 300,
    reportRetryLimit: REPORT_RETRY_LIMIT,
    disposeAfterReport: true,
    reportStatus: "NONE",
    pendingReport: null,
    reportAttempts: 0,
    reportRetries: 0,
    reportNextTryAt: 0,
    reportError: "",
    artifactRequest: null,
    artifactRef: null,
    ...estimates,
  };
}

const COLLECTING = {
  groupId: z.string(),
  jobKey: z.string(),
  collectorAgentId: z.string(),
  collectorHostUrl: z.string(),
  reportTimeoutSeconds: boundedNumber(0.1, false),
  reportRetrySeconds: boundedNumber(0.1, false),
  reportRetryMaxSeconds: boundedNumber(0.1, false),
  reportRetryLimit: boundedNumber(0, true).optional(),
  disposeAfterReport: z.boolean(),
};

/**
 * The state schema of a collecting job: the compute estimates, the group fields and `shape`.
 *
 * @example
 * ```ts
 * static override readonly stateSchema = collectingJobSchema({ dataset: z.string() });
 * ```
 */
export function collectingJobSchema<Shape extends z.ZodRawShape>(shape: Shape = {} as Shape) {
  return computeJobSchema({ ...COLLECTING, ...shape });
}

/**
 * What a group's job removed before its report was accepted leaves its collector, so that the group
 * still completes: its report on its way as it is (a result stays a result), else a failure at stage
 * `removed`. The job itself sends it when it is removed while it runs (`onDisposing`); the host
 * sends it for a job removed while it sleeps (`paglets jobs rm`), whose code does not run.
 *
 * @module
 */
import { computeJobIdOf } from "../compute_job_state.ts";
import type { JobReport } from "./contract.ts";
import type { CollectingComputeJobState } from "./collecting_job_state.ts";

/** The report to send and where. */
export interface RemovalReport {
  collector: { id: string; host: string };
  kind: "result" | "failure";
  report: JobReport;
  /** Timeout of the one try, from the job's `reportTimeoutSeconds`. */
  timeoutMs: number;
}

/** The removed job, as the report names it. */
export interface RemovedJob {
  agentId: string;
  hostName: string;
  hostUrl: string;
}

/**
 * The report the collector of a job with `state` gets when the job is removed now, or null: not a
 * group's job (no collector), or its report was accepted already. A report given up
 * (`UNDELIVERABLE`) is tried once more.
 */
export function removalReport(
  state: Partial<CollectingComputeJobState>,
  job: RemovedJob,
): RemovalReport | null {
  const { collectorAgentId, collectorHostUrl, reportStatus } = state;
  if (typeof collectorAgentId !== "string" || !collectorAgentId) return null;
  if (typeof collectorHostUrl !== "string" || !collectorHostUrl) return null;
  if (reportStatus === "SENT") return null;
  const collector = { id: collectorAgentId, host: collectorHostUrl };
  const seconds = state.reportTimeoutSeconds;
  const timeoutMs = (typeof seconds === "number" && seconds > 0 ? seconds : 5) * 1000;
  const pending = state.pendingReport;
  if (pending) return { collector, kind: pending.kind, report: pending.report, timeoutMs };
  // Nothing reported yet, or a file result whose upload had not happened: all there is to say is
  // that the job is gone.
  const before = reportStatus === "NONE" || reportStatus === undefined
    ? "before it reported"
    : state.artifactRequest
    ? "before its file result was uploaded"
    : "before its report was delivered";
  const jobId = computeJobIdOf(state, job.agentId);
  return {
    collector,
    kind: "failure",
    report: {
      jobKey: state.jobKey || jobId,
      reportId: `${job.agentId}-failure-${crypto.randomUUID().slice(0, 8)}`,
      groupId: state.groupId ?? "",
      agentId: job.agentId,
      jobId,
      hostName: job.hostName,
      hostUrl: job.hostUrl,
      reportedAt: Date.now(),
      error: `removed on ${job.hostName} ${before}`,
      stage: "removed",
    },
    timeoutMs,
  };
}

/**
 * Job groups with a collector: compute jobs that each report once to a collector paglet, which a
 * submitter (or `paglets jobs groups`) asks for the group's summary. Every host loads this module,
 * so `paglets.result_collector` exists everywhere.
 *
 * @module
 */
export { ResultCollectorPaglet } from "./collector.ts";
export { CollectingComputeJobPaglet } from "./collecting_job.ts";
export type { ArtifactReportOptions } from "./collecting_job.ts";
export { collectingJobDefaults, collectingJobSchema } from "./collecting_job_state.ts";
export type { ArtifactRequest, CollectingComputeJobState, ReportStatus } from "./collecting_job_state.ts";
export { ComputeJobGroup, submitComputeJobGroup } from "./submit.ts";
export type { DrainOptions, GroupLauncher, SubmitGroupOptions, SubmittedJob } from "./submit.ts";
export {
  COLLECTOR_STATUSES,
  CollectorDrain,
  CollectorSummary,
  DuplicateReport,
  ExpectedJob,
  GroupSummary,
  JobFailure,
  JobReport,
  JobResult,
  RegisterJobs,
  ReportReply,
  ReturnHome,
} from "./contract.ts";
export type { CollectorStatus } from "./contract.ts";
export { collectorDefaults, isComplete, pendingJobs, summarize } from "./summary.ts";
export type { ResultCollectorState } from "./summary.ts";

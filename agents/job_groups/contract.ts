/**
 * The messages of a job group's collector ({@link ResultCollectorPaglet}) as typed operations, and
 * the summary it answers with. Jobs, submitters, `paglets jobs groups` and the dashboard all read
 * the same {@link GroupSummary}.
 *
 * @module
 */
import { z } from "zod";
import { operation } from "../operations.ts";
import { findNonPlainData } from "../wire.ts";

/** The collector's life: collecting, done, done but waiting for its home host, on its way home. */
export const COLLECTOR_STATUSES = ["ACTIVE", "COMPLETE", "WAITING_FOR_HOME", "RETURNING_HOME"] as const;
export type CollectorStatus = typeof COLLECTOR_STATUSES[number];

/**
 * Where the submission of a group's jobs stands, as the collector knows it: `NONE` (not created by
 * a submitter: nothing to wait for), `SUBMITTING` (the submitter creates jobs and registers them as
 * it goes), `SUBMITTED` (it said it creates no more), `CUT_SHORT` (it went silent for
 * `submissionTimeoutSeconds` before saying so; the jobs it never created failed at stage `create`).
 */
export const SUBMISSION_STATUSES = ["NONE", "SUBMITTING", "SUBMITTED", "CUT_SHORT"] as const;
export type SubmissionStatus = typeof SUBMISSION_STATUSES[number];

const jobKey = z.string().min(1, "a job key must not be empty");
/** Plain data (what a state may hold): a collector must be able to store what it accepts. */
const plainData = z.unknown().superRefine((value, ctx) => {
  const bad = findNonPlainData(value);
  if (bad) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `is not plain data at ${bad}` });
});
const meta = z.record(z.unknown());

/** One job the collector expects a report from. */
export const ExpectedJob = z.object({
  jobKey,
  /** The job paglet's id, once it was created. */
  agentId: z.string().default(""),
  /** The job's paglet type. */
  type: z.string().default(""),
  registeredAt: z.number().default(0),
  metadata: meta.default({}),
});
export type ExpectedJob = z.infer<typeof ExpectedJob>;

/** A job's report: its result (`job_result`) or why it failed (`job_failure`). */
export const JobReport = z.object({
  jobKey,
  /** Unique per report: a retry of the same report carries the same id and lands once. */
  reportId: z.string().min(1, "a report needs a reportId"),
  groupId: z.string().default(""),
  agentId: z.string().default(""),
  jobId: z.string().default(""),
  hostName: z.string().default(""),
  hostUrl: z.string().default(""),
  /** Epoch ms when the job made the report. */
  reportedAt: z.number().default(0),
  /** `job_result`: what `buildResultPayload()` returned (with `artifact` for a file result). */
  result: plainData.optional(),
  /** `job_failure`: the error message. */
  error: z.string().optional(),
  /** `job_failure`: where it failed (`create`, `compute`, …) and anything else the job adds. */
  stage: z.string().optional(),
  details: plainData.optional(),
});
export type JobReport = z.infer<typeof JobReport>;

/** A report for a job that already had one: kept apart, never replacing the first. */
export const DuplicateReport = z.object({
  kind: z.enum(["result", "failure"]),
  receivedAt: z.number(),
  report: JobReport,
});
export type DuplicateReport = z.infer<typeof DuplicateReport>;

const location = z.object({ hostName: z.string(), hostUrl: z.string() });

/** Everything a collector knows, as `summary`, `drain` and `paglets jobs groups` show it. */
export const GroupSummary = z.object({
  groupId: z.string(),
  status: z.enum(COLLECTOR_STATUSES),
  /** Every expected job has a result or a failure. */
  complete: z.boolean(),
  collector: location.extend({ agentId: z.string() }),
  home: location,
  returnHomeWhenComplete: z.boolean(),
  waitingForHome: z.boolean(),
  /** Why the last try to go home did not get there ("" = none failed). */
  returnHomeError: z.string(),
  /** Epoch ms of the next check while the home host is offline (0 = none planned). */
  nextHomeCheckAt: z.number(),
  /** Defaults: a host from before submissions were tracked does not send these two. */
  submissionStatus: z.enum(SUBMISSION_STATUSES).default("NONE"),
  /**
   * Epoch ms when a submission that is still `SUBMITTING` is given up unless the submitter registers
   * more jobs first (0 = not submitting).
   */
  submissionDeadlineAt: z.number().default(0),
  expectedCount: z.number(),
  completedCount: z.number(),
  failedCount: z.number(),
  pendingCount: z.number(),
  duplicateCount: z.number(),
  pendingJobs: z.array(z.string()),
  expectedJobs: z.record(ExpectedJob),
  results: z.record(JobReport),
  failures: z.record(JobReport),
  duplicateReports: z.array(DuplicateReport),
  createdAt: z.number(),
  completedAt: z.number(),
  lastReportAt: z.number(),
});
export type GroupSummary = z.infer<typeof GroupSummary>;

/** The reply to a report. */
export const ReportReply = z.object({
  accepted: z.boolean(),
  /** This jobKey already had a report: this one was kept apart. */
  duplicate: z.boolean(),
  /** The same report (same reportId) had landed before: nothing changed. */
  alreadyRecorded: z.boolean(),
  complete: z.boolean(),
});
export type ReportReply = z.infer<typeof ReportReply>;

export const SummaryRequest = z.object({}).passthrough();
export const RegisterJobsRequest = z.object({
  jobs: z.array(ExpectedJob),
  /**
   * The submitter creates no more jobs: an expected job that has neither an agent id nor a report
   * now was never created, and fails at stage `create`.
   */
  submissionEnded: z.boolean().default(false),
});
export const RegisterJobsReply = z.object({ expectedCount: z.number(), pendingCount: z.number() });
export const ReturnHomeReply = z.object({
  status: z.enum(COLLECTOR_STATUSES),
  returnHomeWhenComplete: z.boolean(),
  waitingForHome: z.boolean(),
  returnHomeError: z.string(),
});

/** `summary`: counts, pending keys, results, failures, duplicates, location, return-home state. */
export const CollectorSummary = operation("summary", SummaryRequest, GroupSummary);
/**
 * `drain`: the summary, with `complete` telling whether every expected job has a result or a
 * failure. The collector answers at once (its handlers run one at a time, so a handler that waited
 * would hold up the very reports it waits for); {@link ComputeJobGroup.drain} repeats it until the
 * group is complete.
 */
export const CollectorDrain = operation("drain", SummaryRequest, GroupSummary);
/**
 * `register_jobs`: adds or updates expected jobs (merged by jobKey). A submitter registers the jobs
 * it created (with their agent ids) as it goes, and says when it has ended; each registration
 * moves the deadline of a submission still under way.
 */
export const RegisterJobs = operation("register_jobs", RegisterJobsRequest, RegisterJobsReply);
/** `job_result`: a job's result. */
export const JobResult = operation("job_result", JobReport, ReportReply);
/** `job_failure`: a job's failure. */
export const JobFailure = operation("job_failure", JobReport, ReportReply);
/** `return_home`: tries to go home now (when complete and asked to). */
export const ReturnHome = operation("return_home", SummaryRequest, ReturnHomeReply);

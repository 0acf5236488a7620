/**
 * The collector's state and the summary made from it. Pure: the collector answers `summary` with
 * it, and compute-slots builds the same rows from stored collector states for `paglets jobs
 * groups` and the dashboard (without waking a sleeping collector).
 *
 * @module
 */
import type {
  CollectorStatus,
  DuplicateReport,
  ExpectedJob,
  GroupSummary,
  JobReport,
  SubmissionStatus,
} from "./contract.ts";

/** The state of a {@link ResultCollectorPaglet}. */
export interface ResultCollectorState {
  groupId: string;
  status: CollectorStatus;
  /** Where the submitter is; the collector goes back there when asked to and complete. */
  homeHostName: string;
  homeHostUrl: string;
  /** Go home once every job has reported. @default false */
  returnHomeWhenComplete: boolean;
  /** While home is offline, the collector sleeps and checks again this often. @default 300 */
  homeCheckSeconds: number;
  expectedJobs: Record<string, ExpectedJob>;
  results: Record<string, JobReport>;
  failures: Record<string, JobReport>;
  duplicateReports: DuplicateReport[];
  createdAt: number;
  completedAt: number;
  lastReportAt: number;
  /** The completion notification went out. */
  notified: boolean;
  returnHomeError: string;
  nextHomeCheckAt: number;
  /** Where the submission stands (`NONE` in a state stored before submissions were tracked). */
  submissionStatus: SubmissionStatus;
  /**
   * A submission still `SUBMITTING` is given up after this long without a registration: the jobs
   * never created then fail at stage `create`. @default 300
   */
  submissionTimeoutSeconds: number;
  /** Epoch ms of the submitter's last registration (or of the collector's creation). */
  lastRegistrationAt: number;
  /** A complete collector where it belongs sleeps after this long without a message. @default 60 */
  restAfterSeconds: number;
  /** A complete collector is removed this long after its group completed; 0 keeps it. @default 604800 (7 days) */
  retentionSeconds: number;
}

/** The state a new collector starts with. */
export function collectorDefaults(): ResultCollectorState {
  return {
    groupId: "",
    status: "ACTIVE",
    homeHostName: "",
    homeHostUrl: "",
    returnHomeWhenComplete: false,
    homeCheckSeconds: 300,
    expectedJobs: {},
    results: {},
    failures: {},
    duplicateReports: [],
    createdAt: 0,
    completedAt: 0,
    lastReportAt: 0,
    notified: false,
    returnHomeError: "",
    nextHomeCheckAt: 0,
    submissionStatus: "NONE",
    submissionTimeoutSeconds: 300,
    lastRegistrationAt: 0,
    restAfterSeconds: 60,
    retentionSeconds: 7 * 86_400,
  };
}

/** Epoch ms when a submission still under way is given up (0 = none is under way). */
export function submissionDeadline(state: ResultCollectorState): number {
  if (state.submissionStatus !== "SUBMITTING") return 0;
  return (state.lastRegistrationAt || state.createdAt) + state.submissionTimeoutSeconds * 1000;
}

/** Keys of expected jobs that have neither a result nor a failure, in key order. */
export function pendingJobs(state: ResultCollectorState): string[] {
  return Object.keys(state.expectedJobs).filter((k) => !(k in state.results) && !(k in state.failures))
    .sort();
}

/** Every expected job has a result or a failure (and at least one job is expected). */
export function isComplete(state: ResultCollectorState): boolean {
  return Object.keys(state.expectedJobs).length > 0 && pendingJobs(state).length === 0;
}

/** The summary of a collector with this state, living at `collector`. */
export function summarize(
  state: ResultCollectorState,
  collector: { agentId: string; hostName: string; hostUrl: string },
): GroupSummary {
  const pending = pendingJobs(state);
  const expectedCount = Object.keys(state.expectedJobs).length;
  return {
    groupId: state.groupId,
    status: state.status,
    complete: expectedCount > 0 && pending.length === 0,
    collector,
    home: { hostName: state.homeHostName, hostUrl: state.homeHostUrl },
    returnHomeWhenComplete: state.returnHomeWhenComplete,
    waitingForHome: state.status === "WAITING_FOR_HOME",
    returnHomeError: state.returnHomeError,
    nextHomeCheckAt: state.nextHomeCheckAt,
    submissionStatus: state.submissionStatus ?? "NONE",
    submissionDeadlineAt: submissionDeadline(state),
    expectedCount,
    completedCount: Object.keys(state.results).length,
    failedCount: Object.keys(state.failures).length,
    pendingCount: pending.length,
    duplicateCount: state.duplicateReports.length,
    pendingJobs: pending,
    expectedJobs: state.expectedJobs,
    results: state.results,
    failures: state.failures,
    duplicateReports: state.duplicateReports,
    createdAt: state.createdAt,
    completedAt: state.completedAt,
    lastReportAt: state.lastReportAt,
  };
}

/**
 * The typed operations of the analysis example: the CLI talks to the campaign seeder with
 * `analysis.start` and `analysis.summary` (and `analysis.retry` for commits that failed); jobs
 * report their progress to it with `analysis.job_update`.
 *
 * @module
 */
import { z } from "zod";
import { operation } from "../../agents/operations.ts";

/** The application status of a job, beside the base class's `computeStatus`. */
export const ANALYSIS_STATUSES = [
  "NEW",
  "RUNNING",
  "WAITING_FOR_HOME",
  "RETURNING_HOME",
  "COMMITTING",
  "COMMITTED",
  "FAILED_FINAL",
] as const;
export type AnalysisStatus = typeof ANALYSIS_STATUSES[number];

/** Statuses a job does not leave on its own. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["COMMITTED", "FAILED_FINAL"]);

const MIB = 2 ** 20;

/** What the CLI asks for: one campaign of `tasks` jobs. */
export const CampaignRequest = z.object({
  campaignId: z.string().regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/,
    "must be a word of letters, digits, . _ -",
  )
    .optional(),
  tasks: z.number().int().min(1).max(10_000).default(20),
  dbPath: z.string().min(1).refine((p) => p.startsWith("/"), "must be an absolute path"),
  rows: z.number().int().min(100).max(10_000_000).default(80_000),
  features: z.number().int().min(4).max(1024).default(32),
  trees: z.number().int().min(1).max(10_000).default(80),
  targetRuntimeSeconds: z.number().min(0).max(7 * 24 * 3600).default(150),
  memoryBytes: z.number().int().min(1).default(512 * MIB),
  cpuCores: z.number().int().min(1).max(1024).default(1),
  tempStorageBytes: z.number().int().min(0).default(256 * MIB),
  dbLockTimeoutSeconds: z.number().min(0).max(24 * 3600).default(60),
  homeCheckSeconds: z.number().min(0.1).max(7 * 24 * 3600).default(300),
  /** The home host may compute jobs too. */
  allowHomeCompute: z.boolean().default(true),
});
export type CampaignRequest = z.infer<typeof CampaignRequest>;

export const StartReply = z.object({
  campaignId: z.string(),
  created: z.number().int(),
  errors: z.record(z.string()),
});
export type StartReply = z.infer<typeof StartReply>;

/** What a job tells its seeder whenever its status or host changes. */
export const JobUpdate = z.object({
  jobId: z.string(),
  agentId: z.string(),
  status: z.enum(ANALYSIS_STATUSES),
  computeStatus: z.string(),
  host: z.string(),
  error: z.string().default(""),
  accuracy: z.number().nullable().default(null),
  computeSeconds: z.number().nullable().default(null),
  /** Epoch ms on the job's host; the seeder keeps the newest update per job. */
  at: z.number(),
});
export type JobUpdate = z.infer<typeof JobUpdate>;

export const JobView = JobUpdate.extend({ agentId: z.string() });
export type JobView = z.infer<typeof JobView>;

/** Rows per table, accuracy per job and hosts used, as read from the DB at home. */
export const ResultsView = z.object({
  tables: z.object({ job_summary: z.number(), feature_summary: z.number(), prediction_summary: z.number() }),
  jobs: z.array(z.object({
    jobId: z.string(),
    host: z.string(),
    accuracy: z.number(),
    computeSeconds: z.number(),
    cpuCoreIds: z.string(),
  })),
  hosts: z.array(z.object({ host: z.string(), jobs: z.number() })),
});
export type ResultsView = z.infer<typeof ResultsView>;

export const SummaryRequest = z.object({ withResults: z.boolean().default(false) });

export const CampaignSummary = z.object({
  campaignId: z.string(),
  dbPath: z.string(),
  tasks: z.number().int(),
  startedAt: z.number(),
  seeded: z.boolean(),
  errors: z.record(z.string()),
  jobs: z.array(JobView),
  counts: z.record(z.number()),
  done: z.boolean(),
  results: ResultsView.nullable(),
});
export type CampaignSummary = z.infer<typeof CampaignSummary>;

export const RetryReply = z.object({ retried: z.array(z.string()) });

export const ANALYSIS_START = operation("analysis.start", CampaignRequest, StartReply);
export const ANALYSIS_SUMMARY = operation("analysis.summary", SummaryRequest, CampaignSummary);
export const ANALYSIS_JOB_UPDATE = operation("analysis.job_update", JobUpdate, z.object({ ok: z.boolean() }));
/** Asks every job whose commit failed to commit again. */
export const ANALYSIS_RETRY = operation("analysis.retry", z.object({}), RetryReply);

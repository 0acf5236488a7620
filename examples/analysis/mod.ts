/**
 * The analysis example: a campaign seeder and its compute jobs (paglets.ts), their typed operations,
 * and the workload. The CLI is `paglets examples analysis` (command.ts); docs/examples/analysis.md
 * has the flow and the result schema.
 *
 * @module
 */
export { AnalysisJobPaglet, type AnalysisJobState } from "./job.ts";
export { CampaignSeederPaglet, type CampaignState } from "./seeder.ts";
export {
  ANALYSIS_RETRY,
  ANALYSIS_START,
  ANALYSIS_SUMMARY,
  type CampaignRequest,
  type CampaignSummary,
  type JobUpdate,
} from "./operations.ts";
export { type AnalysisInput, type AnalysisOutcome, runAnalysis } from "./workload.ts";
export { appendResults, summarizeResults } from "./results_db.ts";

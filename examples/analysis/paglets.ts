/**
 * The analysis paglet types, as every host's agent workers load them (host/builtin_modules.ts).
 * Scripts import mod.ts, which has the operations too.
 *
 * @module
 */
export { AnalysisJobPaglet } from "./job.ts";
export { CampaignSeederPaglet } from "./seeder.ts";

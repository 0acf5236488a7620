/**
 * Monte Carlo Pi through the Runner: the estimator (every host loads it as a task module) and the
 * run. The CLI is `paglets examples montecarlo` (command.ts); docs/examples/montecarlo.md explains.
 *
 * @module
 */
export { batchState, estimateBatch, MAX_SAMPLES_PER_BATCH, piFromCounts } from "./estimate.ts";
export type { PiEstimate } from "./estimate.ts";
export { estimatePi, formatReport } from "./montecarlo.ts";
export type { MonteCarloReport, MonteCarloRun } from "./montecarlo.ts";

/**
 * Monte Carlo Pi through the Runner: `batches` tasks of `samplesPerBatch` points each run as
 * `estimateBatch` on leased cores of the mesh; the counts add up to the estimate.
 *
 * @example
 * ```ts
 * const report = await estimatePi({ batches: 10, samplesPerBatch: 1_000_000, seed: 42 });
 * console.log(report.estimate);
 * ```
 *
 * @module
 */
import { progress, Runner, type RunnerOptions, taskModule } from "../../agents/mod.ts";
import * as estimator from "./estimate.ts";
import { estimateBatch, type PiEstimate, piFromCounts } from "./estimate.ts";

/** The module executors load: the estimator only (a built-in module of every host). */
const ESTIMATOR = taskModule(new URL("./estimate.ts", import.meta.url), estimator);

/** A run's configuration. */
export interface MonteCarloRun {
  batches: number;
  samplesPerBatch: number;
  /** Batch `i` draws the points of (seed, i): the same seed gives the same estimate. */
  seed: number;
}

/** What a run reports. */
export interface MonteCarloReport extends MonteCarloRun, PiEstimate {
  totalSamples: number;
  actual: number;
  /** From `Runner.open` to the estimate, in milliseconds. */
  wallMs: number;
  executors: number;
  hosts: string[];
}

/**
 * Runs the estimate on a Runner named `montecarlo` (options: entry, hosts, tags, executors).
 * `showProgress`: a bar of the batches done on stderr, when it is a terminal.
 */
export async function estimatePi(
  run: MonteCarloRun,
  options: Omit<RunnerOptions, "module"> = {},
  showProgress = false,
): Promise<MonteCarloReport> {
  const started = performance.now();
  await using rr = await Runner.open("montecarlo", { ...options, module: ESTIMATOR });
  const estimate = rr.service(estimateBatch);
  const futures = Array.from({ length: run.batches }, (_, i) => estimate(run.samplesPerBatch, run.seed, i));
  if (showProgress) void progress(futures, { label: "batches" });
  const counts = await rr.get(futures);
  const result = piFromCounts(counts, run.samplesPerBatch);
  const used = rr.executors.filter((e) => e.tasksRun > 0);
  return {
    ...run,
    ...result,
    totalSamples: result.total,
    actual: Math.PI,
    wallMs: performance.now() - started,
    executors: used.length,
    hosts: [...new Set(used.map((e) => e.host))],
  };
}

const RULE = "=".repeat(60);

/** The report as the seed prints it. */
export function formatReport(report: MonteCarloReport): string {
  const n = (x: number) => x.toLocaleString("en");
  return [
    RULE,
    "Monte Carlo Estimation of PI using the paglets Runner",
    RULE,
    "Configuration:",
    `  Batches: ${n(report.batches)}`,
    `  Samples per batch: ${n(report.samplesPerBatch)}`,
    `  Total samples: ${n(report.totalSamples)}`,
    `  Seed: ${report.seed}`,
    "",
    "Running distributed Monte Carlo simulation...",
    "",
    "Results:",
    `  Estimated PI: ${report.estimate.toFixed(10)}`,
    `  Actual PI: ${report.actual.toFixed(10)}`,
    `  Error: ${report.error.toFixed(10)} (${report.percentError.toFixed(6)}%)`,
    `  Time: ${(report.wallMs / 1000).toFixed(3)} s on ${report.executors} executors (${
      report.hosts.join(", ")
    })`,
    RULE,
  ].join("\n");
}

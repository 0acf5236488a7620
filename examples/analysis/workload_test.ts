import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { decodeRows } from "./frames.ts";
import { FEATURE_SUMMARY, JOB_SUMMARY, PREDICTION_SUMMARY } from "./schema.ts";
import { type AnalysisInput, jobSummaryBytes, runAnalysis } from "./workload.ts";

const input: AnalysisInput = {
  campaignId: "analysis-test",
  jobId: "analysis-test-0000",
  seed: 10000,
  rows: 3000,
  features: 8,
  trees: 10,
  targetRuntimeSeconds: 0,
};

Deno.test("an analysis run is deterministic from its seed and learns its data", () => {
  const a = runAnalysis(input), b = runAnalysis(input);
  assertEquals(a.metrics.accuracy, b.metrics.accuracy);
  assert(a.metrics.accuracy > 0.8, `accuracy ${a.metrics.accuracy}`);
  assertEquals(a.metrics.trainRows + a.metrics.testRows, 3000);
  assertEquals(decodeRows(FEATURE_SUMMARY, a.featureSummary), decodeRows(FEATURE_SUMMARY, b.featureSummary));
});

Deno.test("feature and prediction frames have a row per feature and per class", () => {
  const out = runAnalysis(input);
  const features = decodeRows(FEATURE_SUMMARY, out.featureSummary);
  assertEquals(features.length, 8);
  assertEquals(features.map((r) => r[2]), ["f00", "f01", "f02", "f03", "f04", "f05", "f06", "f07"]);
  assertEquals(features.map((r) => r[4]).slice(0, 3), ["informative", "informative", "redundant"]);
  const total = features.reduce((s, r) => s + (r[5] as number), 0);
  assert(Math.abs(total - 1) < 1e-9);
  const classes = decodeRows(PREDICTION_SUMMARY, out.predictionSummary);
  assertEquals(classes.length, 2);
  assertEquals(classes.reduce((s, r) => s + (r[3] as number), 0), out.metrics.testRows);
  const correct = classes.reduce((s, r) => s + (r[5] as number), 0);
  assertEquals(correct / out.metrics.testRows, out.metrics.accuracy);
});

Deno.test("the job summary carries the placement and affinity outcome", () => {
  const out = runAnalysis(input);
  const bytes = jobSummaryBytes(input, out.metrics, {
    host: "linux-a",
    cpuCoreIds: [0, 1],
    cpuAffinitySupported: true,
    cpuAffinityEnforced: false,
    cpuAffinityError: "not pinned",
  });
  const [row] = decodeRows(JOB_SUMMARY, bytes);
  const named = Object.fromEntries(JOB_SUMMARY.columns.map(([n], i) => [n, row[i]]));
  assertEquals(named.job_id, "analysis-test-0000");
  assertEquals(named.host, "linux-a");
  assertEquals(named.cpu_core_ids, "0,1");
  assertEquals(named.cpu_affinity_supported, true);
  assertEquals(named.cpu_affinity_enforced, false);
  assertEquals(named.cpu_affinity_error, "not pinned");
  assertEquals(named.accuracy, out.metrics.accuracy);
});

Deno.test("a short job pads with CPU work up to its target runtime", () => {
  const out = runAnalysis({ ...input, rows: 500, trees: 2, targetRuntimeSeconds: 0.3 });
  assert(out.metrics.computeSeconds >= 0.3, `ran ${out.metrics.computeSeconds} s`);
  assert(out.metrics.paddingSeconds > 0);
});

Deno.test("a frame read back from any offset of a larger buffer decodes", () => {
  const bytes = runAnalysis(input).featureSummary;
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assertEquals(decodeRows(FEATURE_SUMMARY, shifted.subarray(3)), decodeRows(FEATURE_SUMMARY, bytes));
});

/**
 * The work of one analysis job, deterministic from its seed: synthetic classification rows, an
 * 80/20 train/test split, a random forest on one thread, accuracy and per-class counts on the
 * held-out rows, feature importances, and CPU padding up to the target runtime. It runs in the
 * job's compute worker (pinned to the lease's CPUs) and returns plain data and Arrow bytes.
 *
 * @module
 */
import { encodeFrame } from "./frames.ts";
import { accuracy, RandomForest } from "./forest.ts";
import { FEATURE_SUMMARY, type Frame, JOB_SUMMARY, PREDICTION_SUMMARY } from "./schema.ts";
import { makeClassification } from "./synthetic.ts";

/** What one job analyses. */
export interface AnalysisInput {
  campaignId: string;
  jobId: string;
  seed: number;
  rows: number;
  features: number;
  trees: number;
  /** Pad with CPU work until this many seconds have passed since the start. */
  targetRuntimeSeconds: number;
}

/** Measures of one run, the job summary's own columns. */
export interface AnalysisMetrics {
  accuracy: number;
  trainRows: number;
  testRows: number;
  treeNodes: number;
  dataSeconds: number;
  trainSeconds: number;
  predictSeconds: number;
  paddingSeconds: number;
  computeSeconds: number;
  /** Epoch ms. */
  startedAt: number;
  completedAt: number;
}

/** The outcome of {@link runAnalysis}: metrics and two of the three frames (the third needs the host's view). */
export interface AnalysisOutcome {
  metrics: AnalysisMetrics;
  featureSummary: Uint8Array;
  predictionSummary: Uint8Array;
}

/** Where and how the job ran, known to the paglet after its compute step. */
export interface RunPlacement {
  host: string;
  cpuCoreIds: number[];
  cpuAffinitySupported: boolean;
  cpuAffinityEnforced: boolean;
  cpuAffinityError: string;
}

/**
 * Runs the analysis.
 *
 * @example
 * ```ts
 * const out = runAnalysis({ campaignId: "c", jobId: "c-0000", seed: 10000, rows: 2000, features: 8, trees: 5, targetRuntimeSeconds: 0 });
 * console.log(out.metrics.accuracy > 0.5);
 * ```
 */
export function runAnalysis(input: AnalysisInput): AnalysisOutcome {
  const startedAt = Date.now();
  const t0 = performance.now();
  const { rows, features } = input;
  const data = makeClassification({ rows, features, seed: input.seed });
  const trainRows = Math.max(1, Math.floor(rows * 0.8));
  const testRows = rows - trainRows;
  const xTrain = data.x.subarray(0, trainRows * features), yTrain = data.y.subarray(0, trainRows);
  const xTest = data.x.subarray(trainRows * features), yTest = data.y.subarray(trainRows);
  const t1 = performance.now();
  const forest = RandomForest.fit(xTrain, yTrain, features, { trees: input.trees, seed: input.seed });
  const t2 = performance.now();
  const proba = forest.predictProba(xTest);
  const predicted = forest.predict(xTest);
  const t3 = performance.now();

  const ids = { campaign_id: input.campaignId, job_id: input.jobId };
  const featureSummary = encodeFrame(FEATURE_SUMMARY, featureFrame(ids, data.x, features, data, forest));
  const predictionSummary = encodeFrame(
    PREDICTION_SUMMARY,
    predictionFrame(ids, yTest, predicted, proba, forest.classes),
  );
  const t4 = performance.now();
  padUntil(t0 + input.targetRuntimeSeconds * 1000);
  const t5 = performance.now();
  return {
    metrics: {
      accuracy: accuracy(predicted, yTest),
      trainRows,
      testRows,
      treeNodes: forest.nodeCount,
      dataSeconds: (t1 - t0) / 1000,
      trainSeconds: (t2 - t1) / 1000,
      predictSeconds: (t3 - t2) / 1000,
      paddingSeconds: (t5 - t4) / 1000,
      computeSeconds: (t5 - t0) / 1000,
      startedAt,
      completedAt: Date.now(),
    },
    featureSummary,
    predictionSummary,
  };
}

/** The one-row job summary frame, from the run's input, metrics and placement. */
export function jobSummaryBytes(input: AnalysisInput, m: AnalysisMetrics, where: RunPlacement): Uint8Array {
  const frame: Frame = {
    campaign_id: [input.campaignId],
    job_id: [input.jobId],
    seed: [input.seed],
    host: [where.host],
    row_count: [input.rows],
    feature_count: [input.features],
    train_rows: [m.trainRows],
    test_rows: [m.testRows],
    estimator_trees: [input.trees],
    tree_nodes: [m.treeNodes],
    accuracy: [m.accuracy],
    target_runtime_seconds: [input.targetRuntimeSeconds],
    data_seconds: [m.dataSeconds],
    train_seconds: [m.trainSeconds],
    predict_seconds: [m.predictSeconds],
    padding_seconds: [m.paddingSeconds],
    compute_seconds: [m.computeSeconds],
    started_at: [new Date(m.startedAt).toISOString()],
    completed_at: [new Date(m.completedAt).toISOString()],
    cpu_core_ids: [where.cpuCoreIds.join(",")],
    cpu_affinity_supported: [where.cpuAffinitySupported],
    cpu_affinity_enforced: [where.cpuAffinityEnforced],
    cpu_affinity_error: [where.cpuAffinityError],
  };
  return encodeFrame(JOB_SUMMARY, frame);
}

function featureFrame(
  ids: { campaign_id: string; job_id: string },
  x: Float32Array,
  features: number,
  data: { informative: number; redundant: number; rows: number },
  forest: RandomForest,
): Frame {
  const importance = forest.featureImportances();
  const order = [...importance.keys()].sort((a, b) => importance[b] - importance[a]);
  const rank = new Array<number>(features);
  order.forEach((f, i) => rank[f] = i + 1);
  const frame: Frame = {
    campaign_id: [],
    job_id: [],
    feature: [],
    feature_index: [],
    role: [],
    importance: [],
    importance_rank: [],
    mean: [],
    std: [],
  };
  for (let f = 0; f < features; f++) {
    let sum = 0, sq = 0;
    for (let r = 0; r < data.rows; r++) {
      const v = x[r * features + f];
      sum += v;
      sq += v * v;
    }
    const mean = sum / data.rows;
    frame.campaign_id.push(ids.campaign_id);
    frame.job_id.push(ids.job_id);
    frame.feature.push(`f${String(f).padStart(2, "0")}`);
    frame.feature_index.push(f);
    frame.role.push(
      f < data.informative ? "informative" : f < data.informative + data.redundant ? "redundant" : "noise",
    );
    frame.importance.push(importance[f]);
    frame.importance_rank.push(rank[f]);
    frame.mean.push(mean);
    frame.std.push(Math.sqrt(Math.max(0, sq / data.rows - mean * mean)));
  }
  return frame;
}

function predictionFrame(
  ids: { campaign_id: string; job_id: string },
  actual: Uint8Array,
  predicted: Uint8Array,
  proba: Float32Array,
  classes: number,
): Frame {
  const frame: Frame = {
    campaign_id: [],
    job_id: [],
    class_label: [],
    actual_count: [],
    predicted_count: [],
    correct_count: [],
    precision: [],
    recall: [],
    mean_probability: [],
  };
  for (let c = 0; c < classes; c++) {
    let act = 0, pred = 0, hit = 0, p = 0;
    for (let r = 0; r < actual.length; r++) {
      if (actual[r] === c) act++;
      if (predicted[r] === c) pred++;
      if (actual[r] === c && predicted[r] === c) hit++;
      p += proba[r * classes + c];
    }
    frame.campaign_id.push(ids.campaign_id);
    frame.job_id.push(ids.job_id);
    frame.class_label.push(c);
    frame.actual_count.push(act);
    frame.predicted_count.push(pred);
    frame.correct_count.push(hit);
    frame.precision.push(pred ? hit / pred : 0);
    frame.recall.push(act ? hit / act : 0);
    frame.mean_probability.push(actual.length ? p / actual.length : 0);
  }
  return frame;
}

/** Busy CPU work until `deadline` (performance.now() ms), as a longer real analysis would use. */
function padUntil(deadline: number): void {
  let x = 1;
  while (performance.now() < deadline) {
    for (let i = 0; i < 100_000; i++) x = (x * 1.000001 + 1e-9) % 1e6;
  }
  if (x < 0) throw new Error("unreachable"); // keeps the loop from being optimised away
}

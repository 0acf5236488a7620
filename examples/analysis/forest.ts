/**
 * A random forest classifier on binned features, on one thread: bootstrap samples, `sqrt(features)`
 * features tried per split, Gini impurity, fully grown trees, soft voting, and mean-decrease-in-
 * impurity feature importances, with scikit-learn's `RandomForestClassifier` defaults as the model.
 *
 * @module
 */
import { FeatureBins, MAX_BINS } from "./binning.ts";
import { SeededRandom } from "./random.ts";
import { type DecisionTree, growTree, type TrainingSet } from "./tree.ts";

/** Options of {@link RandomForest.fit}. */
export interface ForestOptions {
  /** @default 100 */
  trees?: number;
  /** Features tried per split. @default floor(sqrt(features)) */
  maxFeatures?: number;
  /** @default Infinity */
  maxDepth?: number;
  /** Draw each tree's rows with replacement. @default true */
  bootstrap?: boolean;
  /** Bins per feature (2..256). @default 256 */
  maxBins?: number;
  seed?: number;
  /** Called after each tree, e.g. for progress. */
  onTree?: (done: number, total: number) => void;
}

/** A trained forest. */
export class RandomForest {
  readonly #bins: FeatureBins;
  readonly #trees: DecisionTree[];
  readonly classes: number;

  private constructor(bins: FeatureBins, trees: DecisionTree[], classes: number) {
    this.#bins = bins;
    this.#trees = trees;
    this.classes = classes;
  }

  /**
   * Trains on row-major `x` (`features` wide) and labels `y` (0..classes-1).
   *
   * @example
   * ```ts
   * const forest = RandomForest.fit(x, y, features, { trees: 80, seed: 1 });
   * const labels = forest.predict(xTest);
   * ```
   */
  static fit(x: Float32Array, y: Uint8Array, features: number, options: ForestOptions = {}): RandomForest {
    const rows = y.length;
    if (x.length !== rows * features) {
      throw new RangeError(`x must hold rows × features = ${rows * features} values: it holds ${x.length}`);
    }
    const trees = options.trees ?? 100;
    if (!Number.isInteger(trees) || trees < 1) {
      throw new RangeError(`trees must be an integer >= 1: current value is ${trees}`);
    }
    let classes = 0;
    for (let r = 0; r < rows; r++) if (y[r] >= classes) classes = y[r] + 1;
    const bins = FeatureBins.fit(x, features, options.maxBins ?? MAX_BINS);
    const set: TrainingSet = { bins: bins.binColumns(x), rows, features, classes, y };
    const random = new SeededRandom(options.seed ?? 0);
    const settings = {
      maxFeatures: options.maxFeatures ?? Math.max(1, Math.floor(Math.sqrt(features))),
      maxDepth: options.maxDepth,
    };
    const weights = new Uint16Array(rows);
    const grown: DecisionTree[] = [];
    for (let t = 0; t < trees; t++) {
      if (options.bootstrap === false) weights.fill(1);
      else {
        weights.fill(0);
        for (let i = 0; i < rows; i++) weights[random.int(rows)]++;
      }
      grown.push(growTree(set, weights, settings, random));
      options.onTree?.(t + 1, trees);
    }
    return new RandomForest(bins, grown, classes);
  }

  get treeCount(): number {
    return this.#trees.length;
  }

  /** Nodes over all trees. */
  get nodeCount(): number {
    return this.#trees.reduce((n, t) => n + t.nodeCount, 0);
  }

  /** Mean class probabilities over the trees, row by row (`out[r * classes + c]`). */
  predictProba(x: Float32Array): Float32Array {
    const features = this.#bins.features;
    const rows = x.length / features;
    const binned = this.#bins.binRows(x);
    const k = this.classes;
    const out = new Float32Array(rows * k);
    for (const tree of this.#trees) {
      const value = tree.value;
      for (let r = 0; r < rows; r++) {
        const leaf = tree.leafOf(binned, r * features) * k;
        for (let c = 0; c < k; c++) out[r * k + c] += value[leaf + c];
      }
    }
    const n = this.#trees.length;
    for (let i = 0; i < out.length; i++) out[i] /= n;
    return out;
  }

  /** The most probable class of each row. */
  predict(x: Float32Array): Uint8Array {
    const proba = this.predictProba(x);
    const k = this.classes;
    const rows = proba.length / k;
    const out = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (proba[r * k + c] > proba[r * k + best]) best = c;
      out[r] = best;
    }
    return out;
  }

  /** Mean decrease in impurity per feature, each tree's normalized to 1, averaged; sums to 1. */
  featureImportances(): Float64Array {
    const out = new Float64Array(this.#bins.features);
    for (const tree of this.#trees) {
      let sum = 0;
      for (const v of tree.impurityDecrease) sum += v;
      if (sum > 0) { for (let f = 0; f < out.length; f++) out[f] += tree.impurityDecrease[f] / sum; }
    }
    let total = 0;
    for (const v of out) total += v;
    if (total > 0) { for (let f = 0; f < out.length; f++) out[f] /= total; }
    return out;
  }
}

/** Share of equal labels. */
export function accuracy(predicted: Uint8Array, actual: Uint8Array): number {
  let hits = 0;
  for (let i = 0; i < actual.length; i++) if (predicted[i] === actual[i]) hits++;
  return actual.length ? hits / actual.length : 0;
}

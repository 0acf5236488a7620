/**
 * One classification tree grown on binned features: depth first, Gini impurity, a random subset
 * of features per split (like scikit-learn's `max_features`), grown until its leaves are pure or
 * cannot be split, as scikit-learn's defaults do.
 *
 * A node's rows are a range of one index array, partitioned in place; a split search fills a
 * per-class histogram of the node's bins for a feature and scans it once.
 *
 * @module
 */
import type { SeededRandom } from "./random.ts";

/** What a tree is grown from; shared by all trees of a forest. */
export interface TrainingSet {
  /** Column-major bins: `bins[f * rows + r]`. */
  bins: Uint8Array;
  rows: number;
  features: number;
  classes: number;
  y: Uint8Array;
}

/** Growth settings of one tree. */
export interface TreeSettings {
  /** Features drawn per split (more are tried while none of them can split the node). */
  maxFeatures: number;
  /** @default Infinity */
  maxDepth?: number;
  /** Nodes lighter than this (in weighted rows) become leaves. @default 2 */
  minSamplesSplit?: number;
}

/** A grown tree: parallel node arrays; a leaf has `feature[i] === -1`. */
export class DecisionTree {
  constructor(
    readonly classes: number,
    readonly feature: Int32Array,
    /** Rows with a bin <= this go left. */
    readonly bin: Uint8Array,
    readonly left: Int32Array,
    readonly right: Int32Array,
    /** Class probabilities of each node (`value[node * classes + c]`); used at leaves. */
    readonly value: Float32Array,
    /** Weighted impurity decrease each feature brought, summed over the tree's splits. */
    readonly impurityDecrease: Float64Array,
  ) {}

  get nodeCount(): number {
    return this.feature.length;
  }

  /** Index of the leaf a row-major binned row (`rowBins[offset + f]`) lands in. */
  leafOf(rowBins: Uint8Array, offset: number): number {
    const { feature, bin, left, right } = this;
    let node = 0;
    let f = feature[0];
    while (f >= 0) {
      node = rowBins[offset + f] <= bin[node] ? left[node] : right[node];
      f = feature[node];
    }
    return node;
  }
}

/** Growable node storage. */
class NodeArrays {
  count = 0;
  feature = new Int32Array(1024);
  bin = new Uint8Array(1024);
  left = new Int32Array(1024);
  right = new Int32Array(1024);
  value: Float32Array;

  constructor(readonly classes: number) {
    this.value = new Float32Array(1024 * classes);
  }

  add(): number {
    if (this.count === this.feature.length) this.#grow();
    const id = this.count++;
    this.feature[id] = -1;
    return id;
  }

  #grow(): void {
    const n = this.feature.length * 2;
    const grow = <T extends Int32Array | Uint8Array | Float32Array>(a: T, size: number): T => {
      const b = new (a.constructor as { new (n: number): T })(size);
      b.set(a);
      return b;
    };
    this.feature = grow(this.feature, n);
    this.bin = grow(this.bin, n);
    this.left = grow(this.left, n);
    this.right = grow(this.right, n);
    this.value = grow(this.value, n * this.classes);
  }

  finish(impurityDecrease: Float64Array): DecisionTree {
    const n = this.count;
    return new DecisionTree(
      this.classes,
      this.feature.slice(0, n),
      this.bin.slice(0, n),
      this.left.slice(0, n),
      this.right.slice(0, n),
      this.value.slice(0, n * this.classes),
      impurityDecrease,
    );
  }
}

/**
 * Grows one tree on the rows with a weight > 0 (bootstrap counts, or 1 for every row).
 *
 * @example
 * ```ts
 * // const tree = growTree(set, weights, { maxFeatures: 5 }, random);
 * ```
 */
export function growTree(
  set: TrainingSet,
  weights: Uint16Array,
  settings: TreeSettings,
  random: SeededRandom,
): DecisionTree {
  const { bins, rows, features, classes, y } = set;
  const maxDepth = settings.maxDepth ?? Infinity;
  const minSplit = settings.minSamplesSplit ?? 2;
  const mtry = Math.max(1, Math.min(features, settings.maxFeatures));

  let used = 0;
  for (let r = 0; r < rows; r++) if (weights[r] > 0) used++;
  const index = new Int32Array(used);
  const rootCounts = new Float64Array(classes);
  for (let r = 0, i = 0; r < rows; r++) {
    if (weights[r] > 0) {
      index[i++] = r;
      rootCounts[y[r]] += weights[r];
    }
  }

  const nodes = new NodeArrays(classes);
  const importance = new Float64Array(features);
  const hist = new Float64Array(256 * classes);
  const leftCounts = new Float64Array(classes);
  const bestLeft = new Float64Array(classes);
  const order = new Int32Array(features);
  for (let f = 0; f < features; f++) order[f] = f;

  // Pending nodes: [node id, lo, hi, depth]; their class counts sit in countStack.
  const stack: number[] = [];
  const countStack: Float64Array[] = [];
  stack.push(nodes.add(), 0, used, 0);
  countStack.push(rootCounts);

  while (stack.length > 0) {
    const depth = stack.pop()!, hi = stack.pop()!, lo = stack.pop()!, node = stack.pop()!;
    const counts = countStack.pop()!;
    let total = 0, sumSq = 0, nonZero = 0;
    for (let c = 0; c < classes; c++) {
      total += counts[c];
      sumSq += counts[c] * counts[c];
      if (counts[c] > 0) nonZero++;
    }
    const vBase = node * classes;
    for (let c = 0; c < classes; c++) nodes.value[vBase + c] = counts[c] / total;
    if (nonZero <= 1 || depth >= maxDepth || total < minSplit || hi - lo < 2) continue;

    // Features in random order; at least mtry non-constant ones are tried, more while none splits.
    let bestScore = -Infinity, bestFeature = -1, bestBin = 0;
    let tried = 0;
    for (let k = 0; k < features && (tried < mtry || bestFeature < 0); k++) {
      const j = k + random.int(features - k);
      const f = order[j];
      order[j] = order[k];
      order[k] = f;

      const col = f * rows;
      let minBin = 255, maxBin = 0;
      for (let i = lo; i < hi; i++) {
        const r = index[i];
        const b = bins[col + r];
        hist[b * classes + y[r]] += weights[r];
        if (b < minBin) minBin = b;
        if (b > maxBin) maxBin = b;
      }
      if (minBin === maxBin) {
        for (let c = 0; c < classes; c++) hist[minBin * classes + c] = 0;
        continue;
      }
      tried++;
      leftCounts.fill(0);
      let wl = 0;
      for (let b = minBin; b < maxBin; b++) {
        let ssl = 0, ssr = 0;
        for (let c = 0; c < classes; c++) {
          const h = hist[b * classes + c];
          wl += h;
          const l = (leftCounts[c] += h);
          const rc = counts[c] - l;
          ssl += l * l;
          ssr += rc * rc;
        }
        const wr = total - wl;
        if (wl <= 0 || wr <= 0) continue;
        const score = ssl / wl + ssr / wr;
        if (score > bestScore) {
          bestScore = score;
          bestFeature = f;
          bestBin = b;
          bestLeft.set(leftCounts);
        }
      }
      hist.fill(0, minBin * classes, (maxBin + 1) * classes);
    }
    if (bestFeature < 0) continue;

    // Partition the node's rows: bin <= bestBin to the front.
    const col = bestFeature * rows;
    let i = lo, j = hi - 1;
    while (i <= j) {
      if (bins[col + index[i]] <= bestBin) i++;
      else {
        const t = index[i];
        index[i] = index[j];
        index[j--] = t;
      }
    }
    // Gini decrease, weighted by rows: (ssl/wl + ssr/wr) − ss/w.
    importance[bestFeature] += bestScore - sumSq / total;
    const leftNode = nodes.add(), rightNode = nodes.add();
    nodes.feature[node] = bestFeature;
    nodes.bin[node] = bestBin;
    nodes.left[node] = leftNode;
    nodes.right[node] = rightNode;
    const rightCounts = new Float64Array(classes);
    for (let c = 0; c < classes; c++) rightCounts[c] = counts[c] - bestLeft[c];
    stack.push(rightNode, i, hi, depth + 1);
    countStack.push(rightCounts);
    stack.push(leftNode, lo, i, depth + 1);
    countStack.push(Float64Array.from(bestLeft));
  }
  return nodes.finish(importance);
}

/**
 * Synthetic classification data in the spirit of scikit-learn's `make_classification`: each class
 * is a few Gaussian clusters around vertices of a hypercube in the informative dimensions, mixed
 * by a random linear map; redundant features are linear combinations of the informative ones, the
 * rest is noise, and a small share of labels is flipped. The same seed gives the same rows.
 *
 * @module
 */
import { SeededRandom } from "./random.ts";

/** Options of {@link makeClassification}. */
export interface ClassificationOptions {
  rows: number;
  features: number;
  seed: number;
  /** Features that carry the class signal. @default max(2, round(features / 4)) */
  informative?: number;
  /** Linear combinations of the informative features. @default round(features / 8) */
  redundant?: number;
  /** @default 2 */
  classes?: number;
  /** Gaussian clusters per class. @default 2 */
  clustersPerClass?: number;
  /** Half the hypercube's side: larger separates the classes more. @default 1 */
  classSep?: number;
  /** Share of labels replaced by a random class. @default 0.01 */
  flipY?: number;
}

/** Rows × features, row-major, and one class label per row. */
export interface ClassificationData {
  rows: number;
  features: number;
  classes: number;
  informative: number;
  redundant: number;
  /** Row-major values: `x[row * features + feature]`. */
  x: Float32Array;
  y: Uint8Array;
}

/**
 * Deterministic synthetic classification data.
 *
 * @example
 * ```ts
 * const data = makeClassification({ rows: 1000, features: 8, seed: 10000 });
 * console.log(data.x.length === 8000, data.y.length === 1000);
 * ```
 */
export function makeClassification(options: ClassificationOptions): ClassificationData {
  const { rows, features, seed } = options;
  if (!Number.isInteger(rows) || rows < 2) {
    throw new RangeError(`rows must be an integer >= 2: current value is ${rows}`);
  }
  if (!Number.isInteger(features) || features < 2) {
    throw new RangeError(`features must be an integer >= 2: current value is ${features}`);
  }
  const informative = Math.min(features, options.informative ?? Math.max(2, Math.round(features / 4)));
  const redundant = Math.min(features - informative, options.redundant ?? Math.round(features / 8));
  const classes = options.classes ?? 2;
  const clustersPerClass = options.clustersPerClass ?? 2;
  const classSep = options.classSep ?? 1;
  const flipY = options.flipY ?? 0.01;
  const clusters = classes * clustersPerClass;
  if (clusters > 2 ** Math.min(informative, 30)) {
    throw new RangeError(
      `classes × clustersPerClass (${clusters}) must be at most 2 ** informative (${2 ** informative})`,
    );
  }
  const random = new SeededRandom(seed);

  // Distinct hypercube vertices as cluster centroids, each with its own random mixing matrix.
  const vertices = distinctVertices(random, clusters, informative);
  const centroids = new Float64Array(clusters * informative);
  for (let c = 0; c < clusters; c++) {
    for (let j = 0; j < informative; j++) {
      centroids[c * informative + j] = ((vertices[c] >>> (j % 30)) & 1 ? 1 : -1) * classSep *
        (1 + 0.1 * random.next());
    }
  }
  const mixing = new Float64Array(clusters * informative * informative);
  for (let i = 0; i < mixing.length; i++) mixing[i] = 2 * random.next() - 1;
  const combine = new Float64Array(informative * redundant);
  for (let i = 0; i < combine.length; i++) combine[i] = 2 * random.next() - 1;

  const x = new Float32Array(rows * features);
  const y = new Uint8Array(rows);
  const z = new Float64Array(informative);
  const point = new Float64Array(informative);
  for (let r = 0; r < rows; r++) {
    const cluster = r % clusters; // balanced classes
    y[r] = cluster % classes;
    for (let j = 0; j < informative; j++) z[j] = random.normal();
    const m = cluster * informative * informative;
    for (let j = 0; j < informative; j++) {
      let v = centroids[cluster * informative + j];
      for (let k = 0; k < informative; k++) v += z[k] * mixing[m + k * informative + j];
      point[j] = v;
    }
    const base = r * features;
    for (let j = 0; j < informative; j++) x[base + j] = point[j];
    for (let j = 0; j < redundant; j++) {
      let v = 0;
      for (let k = 0; k < informative; k++) v += point[k] * combine[k * redundant + j];
      x[base + informative + j] = v;
    }
    for (let j = informative + redundant; j < features; j++) x[base + j] = random.normal();
    if (random.next() < flipY) y[r] = random.int(classes);
  }
  shuffleRows(random, x, y, features);
  return { rows, features, classes, informative, redundant, x, y };
}

function distinctVertices(random: SeededRandom, count: number, dims: number): number[] {
  const bits = Math.min(dims, 30);
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < count) {
    const v = random.nextUint32() & (bits === 30 ? 0x3fffffff : (1 << bits) - 1);
    if (!seen.has(v)) {
      seen.add(v);
      out.push(v);
    }
  }
  return out;
}

/** Fisher–Yates over rows, so that a train/test split by position is a random split. */
function shuffleRows(random: SeededRandom, x: Float32Array, y: Uint8Array, features: number): void {
  const tmp = new Float32Array(features);
  for (let i = y.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    if (i === j) continue;
    const a = i * features, b = j * features;
    tmp.set(x.subarray(a, a + features));
    x.copyWithin(a, b, b + features);
    x.set(tmp, b);
    const t = y[i];
    y[i] = y[j];
    y[j] = t;
  }
}

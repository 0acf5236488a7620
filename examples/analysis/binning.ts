/**
 * Feature binning for the histogram forest: each feature's training values are cut at up to 255
 * quantiles, so that a value becomes a bin number (one byte) and a split search is a pass over a
 * histogram instead of a sort. Thresholds stay real numbers: bin `b` holds the values below
 * `edges[b]` and at or above `edges[b - 1]`.
 *
 * @module
 */

/** Most bins a feature gets (bin numbers fit in a byte). */
export const MAX_BINS = 256;

/** Cut points per feature, learnt from training rows. */
export class FeatureBins {
  /** Ascending cut values of each feature; a feature has `edges[f].length + 1` bins. */
  readonly edges: Float32Array[];

  constructor(edges: Float32Array[]) {
    this.edges = edges;
  }

  /** Learns up to `maxBins` quantile bins per feature from row-major rows `x` (`features` wide). */
  static fit(x: Float32Array, features: number, maxBins = MAX_BINS): FeatureBins {
    if (maxBins < 2 || maxBins > MAX_BINS) {
      throw new RangeError(`maxBins must be from 2 to ${MAX_BINS}: current value is ${maxBins}`);
    }
    const rows = x.length / features;
    const column = new Float32Array(rows);
    const edges: Float32Array[] = [];
    for (let f = 0; f < features; f++) {
      for (let r = 0; r < rows; r++) column[r] = x[r * features + f];
      column.sort();
      const cuts: number[] = [];
      for (let k = 1; k < maxBins; k++) {
        const v = column[Math.min(rows - 1, Math.floor((k * rows) / maxBins))];
        if (v > column[0] && (cuts.length === 0 || v > cuts[cuts.length - 1])) cuts.push(v);
      }
      edges.push(Float32Array.from(cuts));
    }
    return new FeatureBins(edges);
  }

  get features(): number {
    return this.edges.length;
  }

  /** The bin of value `v` of feature `f`: how many cut values are <= v. */
  binOf(f: number, v: number): number {
    const e = this.edges[f];
    let lo = 0, hi = e.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (e[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Bins of row-major rows, column-major (`out[f * rows + r]`): the layout tree growth scans. */
  binColumns(x: Float32Array): Uint8Array {
    const features = this.features;
    const rows = x.length / features;
    const out = new Uint8Array(rows * features);
    for (let f = 0; f < features; f++) {
      const base = f * rows;
      for (let r = 0; r < rows; r++) out[base + r] = this.binOf(f, x[r * features + f]);
    }
    return out;
  }

  /** Bins of row-major rows, row-major: the layout prediction walks. */
  binRows(x: Float32Array): Uint8Array {
    const features = this.features;
    const out = new Uint8Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = this.binOf(i % features, x[i]);
    return out;
  }
}

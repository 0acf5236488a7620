/**
 * The Monte Carlo estimator of Pi: count random points of the unit square that fall inside the
 * quarter circle. One call is one batch; the Runner runs batches as tasks on leased cores.
 *
 * Each point is the centre of a cell of a 2^16 × 2^16 grid over the square, drawn from one 32-bit
 * word of xoshiro128** (`Math.imul` on int32, no `Math.random`): 16 bits per coordinate. In doubled
 * units the centres are odd integers below 2^17, so the test `x² + y² < 2^34` is exact in doubles;
 * counting cell centres (not corners) keeps the grid's bias near 2^-21 relative, far below the
 * sampling error of any feasible run. Each batch is seeded through splitmix32 from (seed, batch
 * index): the same seed gives the same counts, whichever executor runs
 * a batch and in whatever order.
 *
 * @example
 * ```ts
 * import { estimateBatch } from "./estimate.ts";
 * const inside = estimateBatch(1_000_000, 42, 0);
 * console.log((4 * inside) / 1_000_000); // ≈ 3.14
 * ```
 *
 * @module
 */

/** Radius² of the quarter circle in doubled lattice units: (2 · 2^16)². */
const RADIUS_SQUARED = 2 ** 34;

function rotl7(v: number): number {
  return (v << 7) | (v >>> 25);
}

/** Largest batch a call accepts: counts stay exact integers and one call stays well under a minute. */
export const MAX_SAMPLES_PER_BATCH = 2 ** 40;

/** splitmix32: spreads (seed, index) over the whole 32-bit state space of the generator. */
function splitmix32(state: Uint32Array, index: number): number {
  state[0] = (state[0] + 0x9e3779b9 + index) | 0;
  let z = state[0];
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** The generator's four state words for batch `batch` of a run seeded with `seed`. */
export function batchState(seed: number, batch: number): Uint32Array {
  const mix = new Uint32Array([seed >>> 0 ^ Math.imul(batch + 1, 0x632be5ab)]);
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) state[i] = splitmix32(mix, i);
  // xoshiro's state must not be all zero.
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
  return state;
}

/**
 * Counts how many of `samples` random points fall inside the quarter circle; batch `batch` of a run
 * seeded with `seed` always draws the same points.
 */
export function estimateBatch(samples: number, seed = 0, batch = 0): number {
  if (!Number.isSafeInteger(samples) || samples < 0 || samples > MAX_SAMPLES_PER_BATCH) {
    throw new RangeError(
      `Cannot estimate a batch as 'samples' must be an integer 0..2^40: current value is ${samples}`,
    );
  }
  if (!Number.isInteger(seed) || !Number.isInteger(batch) || batch < 0) {
    throw new RangeError(
      `Cannot estimate a batch as 'seed' and 'batch' must be integers (batch >= 0): current values are ${seed}, ${batch}`,
    );
  }
  const state = batchState(seed, batch);
  // The state lives in locals inside the loop (the JIT keeps them in registers) and goes back to
  // the typed array between chunks; counts per chunk stay in int32 range.
  let s0 = state[0] | 0, s1 = state[1] | 0, s2 = state[2] | 0, s3 = state[3] | 0;
  let inside = 0;
  let left = samples;
  while (left > 0) {
    const chunk = left < 0x40000000 ? left : 0x40000000;
    let count = 0;
    for (let i = 0; i < chunk; i++) {
      // xoshiro128**: one 32-bit word per point, 16 bits per coordinate.
      const r = Math.imul(rotl7(Math.imul(s1, 5)), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      // Cell centres: (x + ½, y + ½) scaled by 2 → odd integers below 2^17, squares exact in doubles.
      const x = ((r & 0xffff) << 1) | 1;
      const y = (r >>> 15) | 1;
      count += +(x * x + y * y < RADIUS_SQUARED);
    }
    inside += count;
    left -= chunk;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
  return inside;
}

/** What {@linkcode piFromCounts} reports. */
export interface PiEstimate {
  inside: number;
  total: number;
  estimate: number;
  error: number;
  percentError: number;
}

/** Pi from the inside counts of batches of `samplesPerBatch` points each. */
export function piFromCounts(counts: readonly number[], samplesPerBatch: number): PiEstimate {
  const inside = counts.reduce((a, b) => a + b, 0);
  const total = counts.length * samplesPerBatch;
  const estimate = total === 0 ? NaN : (4 * inside) / total;
  const error = Math.abs(estimate - Math.PI);
  return { inside, total, estimate, error, percentError: (100 * error) / Math.PI };
}

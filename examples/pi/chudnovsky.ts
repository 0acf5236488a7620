/**
 * Chudnovsky series for Pi, evaluated by binary splitting.
 *
 *   1/pi = 12 / 640320^(3/2) · Σ_k (-1)^k (6k)! (13591409 + 545140134k) / ((3k)! (k!)^3 640320^(3k))
 *
 * Every term is a rational multiple p(k)/q(k) of the previous one, so a range of terms [a, b) is summarised by
 * three integers: P/Q = Π_{j∈[a,b)} p(j)/q(j) and T/Q = Σ_{k∈[a,b)} (A + Bk)·Π_{j∈[a,k]} p(j)/q(j), with
 * p(0)/q(0) = 1. Two adjacent ranges merge with four multiplications (three when P is not needed), which
 * lets the series be cut into independent batches (one per worker or paglet) and recombined in any tree
 * shape. The final value is pi = 426880·√10005·Q(0,n) / T(0,n) (see digits.ts).
 *
 * This module is pure integer arithmetic: no I/O, no workers.
 */

/** Constant term of the linear factor: 13591409 + 545140134k. */
export const CHUD_A = 13591409n;
/** Slope of the linear factor. */
export const CHUD_B = 545140134n;
/** 640320³ / 24, the per-term constant of Q. */
export const CHUD_C3_OVER_24 = 10939058860032000n;
/** pi = PI_NUMERATOR · √SQRT_RADICAND · Q / T. */
export const PI_NUMERATOR = 426880n;
/** The radicand under the square root in the final formula. */
export const SQRT_RADICAND = 10005n;
/** Decimal digits gained per term: log10(640320³ / 1728). */
export const DIGITS_PER_TERM = 14.181647462725477;
/** Bits gained per term: log2(640320³ / 1728). */
export const BITS_PER_TERM = 47.110413641400376;
/**
 * Extra digits budgeted by termsForDigits beyond the last requested one. The series tail is bounded by
 * about (41n+2)·10^(-14.18n), so at most ~7 digits are lost to the bound for a million terms; the rest
 * absorbs rounding and makes a run of 9s or 0s right after the window unlikely to need a retry.
 */
export const GUARD_DIGITS = 16;

/** The binary-splitting summary of a range of terms. `P` is 0n when it was not requested (see splitTerms). */
export interface TermSums {
  P: bigint;
  Q: bigint;
  T: bigint;
}

/** A batch of consecutive terms [a, b) with its position in the batch list. */
export interface TermBatch {
  index: number;
  a: number;
  b: number;
}

/**
 * Number of series terms needed so that the Pi digits at positions [0, start + digits) are correct
 * (position 0 is the leading "3"). Counts GUARD_DIGITS extra digits so the last requested one is safe.
 */
export function termsForDigits(start: number, digits: number): number {
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`bad start ${start}`);
  if (!Number.isInteger(digits) || digits < 0) throw new RangeError(`bad digit count ${digits}`);
  return Math.ceil((start + digits + GUARD_DIGITS) / DIGITS_PER_TERM) + 1;
}

/**
 * Sums during the recursion, with Q's factors of two held apart: Q = Q·2^e. C³/24 = 2^15·333833370423 and k³
 * add three more per factor two of k, so about 18 of Q's ~99 bits per term are a free shift; multiplying by
 * the shorter odd part makes binary splitting about 8% faster. T has no such factor and stays whole.
 */
interface Shifted {
  P: bigint;
  Q: bigint;
  e: number;
  T: bigint;
}

/** The odd part of 640320³ / 24. */
const C_ODD = CHUD_C3_OVER_24 >> 15n;

/**
 * Summary of the single term k. P(k)/Q(k) is the ratio term_k / term_{k-1}; T(k) carries the linear factor.
 * Products are split so every intermediate stays below 2^53 before entering BigInt.
 */
function leaf(k: number): Shifted {
  if (k === 0) return { P: 1n, Q: 1n, e: 0, T: CHUD_A };
  // (6k−5)(2k−1) stays below 2^53 up to k ≈ 27 million; (6k−5)(6k−1) would pass it at 15.8 million.
  const p = -BigInt((6 * k - 5) * (2 * k - 1)) * BigInt(6 * k - 1);
  let odd = k;
  let twos = 0;
  while ((odd & 1) === 0) {
    odd >>= 1;
    twos++;
  }
  const q = BigInt(odd * odd) * BigInt(odd) * C_ODD;
  return { P: p, Q: q, e: 15 + 3 * twos, T: p * (CHUD_A + CHUD_B * BigInt(k)) };
}

/** Approximate bit size of Q over terms [0, k): Σ (log2(C³/24) + 3·log2 j), by Stirling's formula. */
function qBits(k: number): number {
  return k <= 1 ? 53.28 * k : 53.28 * k + 3 * (k * Math.log2(k) - k / Math.LN2);
}

/**
 * Split point for [a, b) that balances the *sizes* of the two halves rather than their term counts.
 * Later terms are bigger (k³ grows), so a size-balanced split keeps the multiplication operands of each merge
 * equally long, which is what fast multiplication likes. One Newton step from the midpoint suffices.
 * `share` < 0.5 gives the left part a smaller share of the size.
 */
export function splitPoint(a: number, b: number, share = 0.5): number {
  const mid = Math.round(a + (b - a) * share);
  if (b - a < 64) return Math.min(b - 1, Math.max(a + 1, mid));
  const target = qBits(a) + (qBits(b) - qBits(a)) * share;
  const slope = 53.28 + 3 * Math.log2(mid);
  const m = Math.round(mid - (qBits(mid) - target) / slope);
  return Math.min(b - 1, Math.max(a + 1, m));
}

/**
 * Binary splitting over terms [a, b) (0 ≤ a < b). With `withP = false` the P product is skipped (and
 * returned as 0n): P is only ever used when the range is the *left* operand of a merge, so the range that
 * ends the series never needs it, which saves one large multiplication per level on the right spine.
 */
export function splitTerms(a: number, b: number, withP = true): TermSums {
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b <= a) {
    throw new RangeError(`bad term range [${a}, ${b})`);
  }
  const r = split(a, b, withP);
  return { P: r.P, Q: r.Q << BigInt(r.e), T: r.T };
}

function split(a: number, b: number, withP: boolean): Shifted {
  if (b - a === 1) return leaf(a);
  const m = splitPoint(a, b);
  const left = split(a, m, true);
  const right = split(m, b, withP);
  return {
    P: withP ? left.P * right.P : 0n,
    Q: left.Q * right.Q,
    e: left.e + right.e,
    T: ((left.T * right.Q) << BigInt(right.e)) + left.P * right.T,
  };
}

function merge(left: TermSums, right: TermSums, withP: boolean): TermSums {
  return {
    P: withP ? left.P * right.P : 0n,
    Q: left.Q * right.Q,
    T: left.T * right.Q + left.P * right.T,
  };
}

/**
 * Combine the sums of two adjacent ranges [a, m) and [m, b) into the sums of [a, b). The left range must
 * carry P; the result carries P only if the right one does.
 */
export function mergeRanges(left: TermSums, right: TermSums): TermSums {
  if (left.P === 0n) throw new RangeError("left range was computed without P and cannot be merged");
  return merge(left, right, right.P !== 0n);
}

/**
 * Merge a list of adjacent ranges (in order) as a balanced tree, so that each multiplication joins operands
 * of similar size instead of repeatedly multiplying a huge prefix by a small batch.
 */
export function mergeAll(parts: readonly TermSums[]): TermSums {
  if (parts.length === 0) throw new RangeError("nothing to merge");
  let level = parts.slice();
  while (level.length > 1) {
    const next: TermSums[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(mergeRanges(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/** Cut [0, totalTerms) into batches of `batchSize` terms; the last one may be shorter. */
export function batchRanges(totalTerms: number, batchSize: number): TermBatch[] {
  if (!Number.isInteger(totalTerms) || totalTerms < 1) throw new RangeError(`bad term count ${totalTerms}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`bad batch size ${batchSize}`);
  const out: TermBatch[] = [];
  for (let a = 0, index = 0; a < totalTerms; a += batchSize, index++) {
    out.push({ index, a, b: Math.min(totalTerms, a + batchSize) });
  }
  return out;
}

/**
 * Cut [0, totalTerms) into `count` batches of about equal *size* (later terms are larger, so equal term
 * counts would leave the last batch the slowest); boundaries as in splitPoint.
 */
export function balancedBatches(totalTerms: number, count: number): TermBatch[] {
  if (!Number.isInteger(totalTerms) || totalTerms < 1) throw new RangeError(`bad term count ${totalTerms}`);
  if (!Number.isInteger(count) || count < 1 || count > totalTerms) {
    throw new RangeError(`bad batch count ${count}`);
  }
  const out: TermBatch[] = [];
  let a = 0;
  for (let i = 1; i <= count; i++) {
    const left = count - i; // batches still to cut after this one, each needs a term
    const b = i === count
      ? totalTerms
      : Math.min(totalTerms - left, Math.max(a + 1, splitPoint(0, totalTerms, i / count)));
    out.push({ index: i - 1, a, b });
    a = b;
  }
  return out;
}

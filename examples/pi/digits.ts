/**
 * From series sums to certified decimal digits of Pi.
 *
 * Digit positions: position 0 is the leading "3", position i ≥ 1 is the i-th decimal after the point, so
 * positions [0, 5) are "31415". A window is (start, count) over those positions.
 *
 * Given the sums {Q, T} over the terms [0, n) (chudnovsky.ts), pi ≈ 426880·√10005·Q/T. The value is formed
 * as a binary fixed-point number X ≈ pi·2^bits (shifts are free in binary), with one scaled division, and its
 * fraction is turned into decimals by decimal.ts. The digits are then *certified*: the known error (series
 * tail ≤ (41n+2)·2^(−47.11n) relative, plus a few units of rounding) is compared with the guard digits computed
 * past the window, so a run of 9s or 0s straddling the window end is detected instead of printed wrong.
 */
import {
  BITS_PER_TERM,
  PI_NUMERATOR,
  splitTerms,
  SQRT_RADICAND,
  termsForDigits,
  type TermSums,
} from "./chudnovsky.ts";
import { bitLength, type ScaledRoot, sqrtScaled } from "./bigmath.ts";
import { dropDigits, fractionDigits } from "./decimal.ts";
import { divideWithReciprocal, reciprocal, reciprocalBitsFor } from "./division.ts";

const LOG2_10 = Math.log2(10);
/** Guard digits computed past the window to certify its last digit. */
const TAIL_DIGITS = 20;
/** Fixed-point bits beyond what the digits need, so rounding stays far below one decimal unit. */
const EXTRA_BITS = 32;
/**
 * Bound on the rounding error of the fixed-point value, in units of 2^−bits: the division and ε are within a
 * few units, √10005 within 9 (which scaled by pi/√10005 is below one), the cuts of Q and T far below one.
 */
const ROUNDING_ULPS = 64;

/** The part of the series sums that the value of Pi depends on. */
export type PiSums = Pick<TermSums, "Q" | "T">;

/** Thrown when the terms given cannot certify every requested digit. */
export class InsufficientTermsError extends Error {
  constructor(readonly certified: number, readonly requested: number) {
    super(`only ${certified} of ${requested} requested digits are certain; sum more terms`);
    this.name = "InsufficientTermsError";
  }
}

/** −log2 of the relative error of the series truncated after `terms` terms (a safe lower bound). */
export function seriesErrorBits(terms: number): number {
  return BITS_PER_TERM * terms - Math.log2(41 * terms + 2) - 1;
}

/**
 * Number of leading positions that `terms` terms can determine, barring a run of 9s or 0s right after them:
 * about 14.18·terms minus a few guard digits. PiDigitStream certifies up to this point.
 */
export function reliableDigitCount(terms: number): number {
  if (terms < 1) return 0;
  return Math.max(0, Math.floor((seriesErrorBits(terms) - 3) / LOG2_10) - 2);
}

/**
 * Cache of √10005·2^bits. A request at or below the cached precision is a shift; a higher one restarts
 * Newton from the cached inverse root, so a stream of growing precisions never redoes the early steps.
 */
export class SqrtCache {
  #root: ScaledRoot | undefined;
  #bits = 0;

  /** √10005·2^bits within 9 units of the last place. */
  get(bits: number): bigint {
    if (this.#root && bits <= this.#bits) return this.#root.value >> BigInt(this.#bits - bits);
    const seed = this.#root ? { r: this.#root.r, bits: this.#root.rBits } : undefined;
    this.#root = sqrtScaled(SQRT_RADICAND, bits, seed);
    this.#bits = bits;
    return this.#root.value;
  }

  clear(): void {
    this.#root = undefined;
    this.#bits = 0;
  }
}

/** The cache used when no other is given. */
export const defaultSqrtCache = new SqrtCache();

/**
 * Q and T cut to bits + 64 significant bits: they are about twice as long as a `bits`-bit result needs, and
 * the ratio is all that matters.
 */
export function cutSums(sums: PiSums, bits: number): PiSums {
  const cut = BigInt(Math.max(0, bitLength(sums.Q) - bits - 64));
  return { Q: sums.Q >> cut, T: sums.T >> cut };
}

/** Bits of the reciprocal of T that the division in piFixedPoint needs (X has bits + 2 bits, and the size
 * estimate of a quotient may be one more). */
export function divisorPrecision(bits: number): number {
  return reciprocalBitsFor(bits + 4);
}

/**
 * X ≈ pi·2^bits = 426880·(√10005·2^bits)·Q / T from the sums, within ROUNDING_ULPS units (on top of the
 * series error): one multiplication and one approximate division (division.ts).
 */
export function piFixedPoint(sums: PiSums, bits: number, sqrt: bigint = defaultSqrtCache.get(bits)): bigint {
  const { Q, T } = cutSums(sums, bits);
  if (T <= 0n) throw new RangeError("T must be positive (sums over [0, n) with n ≥ 1)");
  const p = divisorPrecision(bits);
  return divideWithReciprocal(PI_NUMERATOR * sqrt * Q, T, reciprocal(T, p), p);
}

/**
 * What to compute for a window: positions [start, start + count) are wanted, positions up to `last` are
 * computed (the extra ones are guard digits), at `bits` bits of binary fixed point, from `terms` terms.
 */
export interface WindowPlan {
  terms: number;
  start: number;
  count: number;
  last: number;
  bits: number;
}

/** Plan a window whose guard digits run to position `last` (≥ start + count − 1). */
function plan(terms: number, start: number, count: number, last: number): WindowPlan {
  return { terms, start, count, last, bits: Math.ceil(last * LOG2_10) + EXTRA_BITS };
}

/** Plan the window [start, start + count) for the sums over `terms` terms (TAIL_DIGITS guard digits). */
export function planWindow(terms: number, start: number, count: number): WindowPlan {
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`bad start ${start}`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`bad count ${count}`);
  const end = start + count;
  const reach = reliableDigitCount(terms) + TAIL_DIGITS / 2;
  return plan(terms, start, count, Math.min(end - 1 + TAIL_DIGITS, Math.max(reach, end)));
}

/** A conversion still to do: `head` followed by the first `digits` decimals of frac / 2^fracBits. */
export interface PendingDigits {
  head: string;
  frac: bigint;
  fracBits: number;
  digits: number;
}

/**
 * The conversion job for positions [plan.start, plan.last] of X / 2^bits, where X ≈ pi·2^bits. Only the part
 * of the fraction after the window start is kept: frac(f·10^(start−1)) costs one multiplication by 5^(start−1).
 */
export function windowFraction(x: bigint, p: WindowPlan): PendingDigits {
  const intPart = x >> BigInt(p.bits);
  let frac = BigInt.asUintN(p.bits, x);
  let fracBits = p.bits;
  let head = "";
  let start = p.start;
  if (start === 0) {
    head = intPart.toString();
    start = 1;
  } else if (start > 1) {
    const skip = start - 1;
    fracBits = p.bits - skip;
    frac = dropDigits(frac, p.bits, skip, false); // not cached: every window skips differently
  }
  return { head, frac, fracBits, digits: p.last - start + 1 };
}

/**
 * How far the computed digits may be from the true ones, in units of the last computed digit: the series
 * tail (|Δpi| ≤ 2^(3−E)), the fixed-point rounding, and one unit from the conversion.
 */
function errorUnits(p: WindowPlan): number {
  const seriesUnits = 2 ** (p.last * LOG2_10 + 3 - seriesErrorBits(p.terms));
  const roundingUnits = ROUNDING_ULPS * 2 ** (p.last * LOG2_10 - p.bits);
  return Math.ceil(seriesUnits + roundingUnits) + 1;
}

/**
 * Length of the longest prefix of `s` (at most `maxLen`) whose digits are certain: the digits after the
 * cut, read as a number t, must keep t ± error inside [0, 10^len) so that no carry can reach the prefix.
 */
function certifiedLength(s: string, errUnits: number, maxLen: number): number {
  if (!Number.isFinite(errUnits)) return 0;
  const err = BigInt(errUnits);
  // The tail must at least be able to hold the error on both sides.
  const minTail = (2n * err).toString().length;
  let cut = Math.min(maxLen, s.length - minTail);
  let limit = 10n ** BigInt(s.length - cut);
  for (; cut >= 0; cut--, limit *= 10n) {
    const t = BigInt(s.slice(cut));
    if (t >= err && t + err < limit) return cut;
    // Only a run of 9s or 0s keeps failing; once the tail reaches a different digit the next cut passes.
  }
  return 0;
}

/** The certified digits of a planned window from its converted digits, or InsufficientTermsError. */
export function certifyWindow(p: WindowPlan, raw: string): string {
  const ok = certifiedLength(raw, errorUnits(p), p.count);
  if (ok < p.count) throw new InsufficientTermsError(p.start + ok, p.start + p.count);
  return raw.slice(0, p.count);
}

/** Compute the digits of a planned window (head + converted fraction), uncertified. */
function convert(sums: PiSums, p: WindowPlan, cache: SqrtCache): string {
  const job = windowFraction(piFixedPoint(sums, p.bits, cache.get(p.bits)), p);
  return job.head + fractionDigits(job.frac, job.fracBits, job.digits);
}

/**
 * The certified digits of Pi at positions [start, start + count) from the sums over terms [0, terms).
 * Throws InsufficientTermsError when the series is too short (or, rarely, a run of 9s or 0s follows the
 * window closely enough that more terms are needed to decide it).
 */
export function piDigitWindow(
  sums: PiSums,
  terms: number,
  start: number,
  count: number,
  cache: SqrtCache = defaultSqrtCache,
): string {
  if (count === 0) return "";
  const p = planWindow(terms, start, count);
  return certifyWindow(p, convert(sums, p, cache));
}

/**
 * Streams the digits of Pi while the series is still being summed: each update receives the sums of a longer
 * prefix [0, terms) and returns the digits that became certain since the previous call (positions continue
 * where the last update stopped). Digits, once returned, never change.
 */
export class PiDigitStream {
  #emitted = 0;
  readonly #cache: SqrtCache;

  constructor(cache: SqrtCache = new SqrtCache()) {
    this.#cache = cache;
  }

  /** Positions [0, emitted) have been returned so far. */
  get emitted(): number {
    return this.#emitted;
  }

  /** Feed the sums over terms [0, terms); returns the newly certain digits (possibly ""). */
  update(sums: PiSums, terms: number): string {
    const digits = certainDigits(sums, terms, this.#emitted, reliableDigitCount(terms), this.#cache);
    this.#emitted += digits.length;
    return digits;
  }
}

/**
 * The digits at positions [from, upTo) that the sums over terms [0, terms) make certain: all of
 * them, or a shorter prefix when the series cannot decide further (past reliableDigitCount(terms),
 * or a run of 9s or 0s at the cut). The work is proportional to `upTo`, not to the size of the sums,
 * so a short early window of a long prefix is cheap.
 */
export function certainDigits(
  sums: PiSums,
  terms: number,
  from: number,
  upTo: number,
  cache: SqrtCache = defaultSqrtCache,
): string {
  const target = Math.min(upTo, reliableDigitCount(terms));
  if (target <= from) return "";
  const p = plan(terms, from, target - from, target - 1 + TAIL_DIGITS / 2);
  const raw = convert(sums, p, cache);
  return raw.slice(0, certifiedLength(raw, errorUnits(p), p.count));
}

/** Retries with more terms before giving up on a window (each retry adds 2·attempt terms, ~28·attempt digits). */
export const MAX_RETRIES = 6;

/**
 * Single-threaded reference path: Pi digits at positions [start, start + count), summing as many terms as
 * termsForDigits asks for and a few more in the rare case the guard digits cannot decide.
 */
export function piDigits(start: number, count: number): string {
  let terms = termsForDigits(start, count);
  for (let attempt = 1;; attempt++) {
    try {
      return piDigitWindow(splitTerms(0, terms, false), terms, start, count);
    } catch (e) {
      if (!(e instanceof InsufficientTermsError) || attempt > MAX_RETRIES) throw e;
      terms += 2 * attempt;
    }
  }
}

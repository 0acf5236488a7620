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
import { BITS_PER_TERM, PI_NUMERATOR, SQRT_RADICAND, splitTerms, termsForDigits, type TermSums } from "./chudnovsky.ts";
import { bitLength, type ScaledRoot, sqrtScaled } from "./bigmath.ts";
import { fractionDigits, pow5 } from "./decimal.ts";

const LOG2_10 = Math.log2(10);
/** Guard digits computed past the window to certify its last digit. */
const TAIL_DIGITS = 20;
/** Fixed-point bits beyond what the digits need, so rounding stays far below one decimal unit. */
const EXTRA_BITS = 32;
/** Bound on the rounding error of piFixedPoint, in units of 2^−bits (the analysis gives ≤ 12). */
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

  /** Install a root computed elsewhere (e.g. on another thread) for precision `bits`. */
  put(bits: number, root: ScaledRoot): void {
    if (bits >= this.#bits) {
      this.#root = root;
      this.#bits = bits;
    }
  }

  clear(): void {
    this.#root = undefined;
    this.#bits = 0;
  }
}

/** The cache used when no other is given. */
export const defaultSqrtCache = new SqrtCache();

/**
 * X ≈ pi·2^bits from the sums, within ROUNDING_ULPS units (on top of the series error). Q and T are cut to
 * bits + 64 significant bits first: they are about twice as long as the result needs.
 */
export function piFixedPoint(sums: PiSums, bits: number, sqrt: bigint = defaultSqrtCache.get(bits)): bigint {
  const cut = Math.max(0, bitLength(sums.Q) - bits - 64);
  const q = sums.Q >> BigInt(cut);
  const t = sums.T >> BigInt(cut);
  return (PI_NUMERATOR * sqrt * q) / t;
}

/** Digits of a fixed-point approximation, plus how far (in units of the last digit) they may be off. */
interface RawDigits {
  digits: string;
  errorUnits: number;
}

/**
 * Digits at positions [start, last] of X / 2^bits, where X ≈ pi·2^bits. Only the part of the fraction after
 * position `start` is converted: frac(f·10^(start−1)) is formed with one multiplication by 5^(start−1).
 */
function rawDigits(x: bigint, bits: number, start: number, last: number): string {
  const intPart = x >> BigInt(bits);
  let frac = BigInt.asUintN(bits, x);
  let fracBits = bits;
  let head = "";
  if (start === 0) {
    head = intPart.toString();
    start = 1;
  } else if (start > 1) {
    const skip = start - 1;
    fracBits = bits - skip;
    frac = BigInt.asUintN(fracBits, frac * pow5(skip));
  }
  return head + fractionDigits(frac, fracBits, last - start + 1);
}

/** Compute positions [start, last] from `terms` terms' sums with the error bound needed to certify them. */
function approximate(sums: PiSums, terms: number, start: number, last: number, cache: SqrtCache): RawDigits {
  const bits = Math.ceil(last * LOG2_10) + EXTRA_BITS;
  const x = piFixedPoint(sums, bits, cache.get(bits));
  // Error in units of 10^−last: series (|Δpi| ≤ 2^(3−E)), rounding, and one unit from the conversion.
  const seriesUnits = 2 ** (last * LOG2_10 + 3 - seriesErrorBits(terms));
  const roundingUnits = ROUNDING_ULPS * 2 ** (last * LOG2_10 - bits);
  return { digits: rawDigits(x, bits, start, last), errorUnits: Math.ceil(seriesUnits + roundingUnits) + 1 };
}

/**
 * Length of the longest prefix of `raw` (ending at most at `maxLen`) whose digits are certain: the digits
 * after the cut, read as a number t, must keep t ± error inside [0, 10^len) so that no carry can reach it.
 */
function certifiedLength(raw: RawDigits, maxLen: number): number {
  const s = raw.digits;
  if (!Number.isFinite(raw.errorUnits)) return 0;
  const err = BigInt(raw.errorUnits);
  for (let cut = Math.min(maxLen, s.length - 1); cut >= 0; cut--) {
    const tailLen = s.length - cut;
    if (10n ** BigInt(tailLen) <= 2n * err) continue;
    const t = BigInt(s.slice(cut));
    if (t >= err && t + err < 10n ** BigInt(tailLen)) return cut;
    // Only a run of 9s or 0s keeps failing; once the tail is long enough and varied, the next cut passes.
  }
  return 0;
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
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`bad start ${start}`);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`bad count ${count}`);
  if (count === 0) return "";
  const end = start + count; // exclusive
  const reach = reliableDigitCount(terms) + TAIL_DIGITS / 2;
  const last = Math.min(end - 1 + TAIL_DIGITS, Math.max(reach, end));
  const raw = approximate(sums, terms, start, last, cache);
  const ok = certifiedLength(raw, count);
  if (ok < count) throw new InsufficientTermsError(start + ok, end);
  return raw.digits.slice(0, count);
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
    const target = reliableDigitCount(terms);
    if (target <= this.#emitted) return "";
    const last = target - 1 + TAIL_DIGITS / 2;
    const raw = approximate(sums, terms, this.#emitted, last, this.#cache);
    const ok = certifiedLength(raw, target - this.#emitted);
    this.#emitted += ok;
    return raw.digits.slice(0, ok);
  }
}

/**
 * Single-threaded reference path: Pi digits at positions [start, start + count), summing as many terms as
 * termsForDigits asks for and a few more in the rare case the guard digits cannot decide.
 */
export function piDigits(start: number, count: number): string {
  let terms = termsForDigits(start, count);
  for (;;) {
    try {
      return piDigitWindow(splitTerms(0, terms, false), terms, start, count);
    } catch (e) {
      if (!(e instanceof InsufficientTermsError)) throw e;
      terms += 2;
    }
  }
}

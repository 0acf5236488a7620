/**
 * Binary fraction → decimal digits, by divide and conquer with multiplications only.
 *
 * V8's BigInt toString is already subquadratic, but it splits by *division* by powers of ten; measured on
 * Deno 2.9 it needs ~136 ms for a million digits, about seven multiplications' worth. Pi is computed here as a
 * binary fixed-point fraction anyway, so its digits can be peeled off by *multiplying*: the first h digits of
 * f ∈ [0, 1) are ⌊f·10^h⌋ and the rest are the digits of frac(f·10^h). Each half needs only as many bits as it
 * has digits (plus GUARD_BITS), so the work per tree level stays about one half-size product.
 *
 * Exactness: every leaf computes an exact floor. A truncated child can only come out one unit low, and only if
 * the exact value sits within ~2^−GUARD_BITS of a digit boundary. For the right child that error lands in the
 * last digit of the whole string (callers budget one unit for it); for the left child it would corrupt the
 * middle, so it is checked (the remainder must not be that close to zero) and, in the astronomically rare
 * failing case, the exact integer part is converted by toString instead.
 *
 * Large conversions and skips go to GMP when the thread has it (gmp_decimal.ts): faster at that size.
 */
import { gmpConverts, gmpDropDigits, gmpFractionDigits } from "./gmp_decimal.ts";

/** Fractional bits kept beyond each part's own digit count. */
export const GUARD_BITS = 64;
/**
 * Leaves hold roughly LEAF_MIN to 2·LEAF_MIN digits and are converted by toString: small enough for V8's
 * quadratic base case to be cheap (~7 ns/digit measured at 500 digits), large enough to amortise a leaf's
 * product and string handling.
 */
const LEAF_MIN = 300;
const LOG2_10 = Math.log2(10);

/**
 * Per-thread cache of 5^k; the tree asks for k = leaf·2^j, built by repeated squaring. Multiplying by 10^k
 * is multiplying by 5^k and moving the binary point by k, and 5^k is 30% shorter than 10^k.
 */
const powCache = new Map<number, bigint>();

/** Beyond this many cached powers the cache starts over (a long-lived thread sees many sizes). */
const MAX_CACHED_POWERS = 512;

/** 5^k, cached. */
export function pow5(k: number): bigint {
  let v = powCache.get(k);
  if (v === undefined) {
    v = k % 2 === 0 && k >= 2 * LEAF_MIN ? pow5(k / 2) ** 2n : 5n ** BigInt(k);
    if (powCache.size >= MAX_CACHED_POWERS) powCache.clear();
    powCache.set(k, v);
  }
  return v;
}

/** Forget cached powers (they can hold megabytes after a large run). */
export function clearPowerCache(): void {
  powCache.clear();
}

/** Bits needed to carry `digits` decimal digits plus the guard. */
export function bitsForDigits(digits: number): number {
  return Math.ceil(digits * LOG2_10) + GUARD_BITS;
}

/**
 * Choose the leaf size for an n-digit conversion so that the tree is balanced: n ≤ leaf·2^depth with
 * leaf ≈ [LEAF_MIN, 2·LEAF_MIN). Every left child then has exactly leaf·2^j digits. Leaf sizes are rounded
 * up to a multiple of 64 so that only a few families of powers 5^(leaf·2^j) ever enter the cache.
 */
export function leafSizeFor(n: number): number {
  let scale = 1;
  while (n / scale >= 2 * LEAF_MIN) scale *= 2;
  return Math.ceil(n / scale / 64) * 64;
}

/** A pending conversion: the first `digits` digits of frac/2^bits. */
export interface FractionPart {
  frac: bigint;
  bits: number;
  digits: number;
}

/** What is left after peeling off the first h digits; `exactLeft` is set when the left part is unsafe. */
export interface RightSplit {
  right: FractionPart;
  exactLeft?: string;
}

/** First `digits` decimal digits of frac / 2^bits (frac must satisfy 0 ≤ frac < 2^bits). */
export function fractionDigits(
  frac: bigint,
  bits: number,
  digits: number,
  leaf = leafSizeFor(digits),
): string {
  if (digits <= 0) return "";
  const exact = gmpFractionDigits(frac, bits, digits);
  if (exact !== null) return exact;
  ({ frac, bits } = widen(frac, bits, digits));
  if (digits <= leaf) {
    const s = ((frac * pow5(digits)) >> BigInt(bits - digits)).toString();
    return s.padStart(digits, "0");
  }
  const h = leftDigitsFor(digits, leaf);
  const { right, exactLeft } = skipDigits(frac, bits, h, digits);
  const left = exactLeft ?? convertPart(truncatePart(frac, bits, h), leaf);
  return left + convertPart(right, leaf);
}

/** The same fraction with at least bitsForDigits(digits) bits (an exact shift), so that every split has room. */
function widen(frac: bigint, bits: number, digits: number): { frac: bigint; bits: number } {
  const need = bitsForDigits(digits);
  return bits >= need ? { frac, bits } : { frac: frac << BigInt(need - bits), bits: need };
}

function convertPart(p: FractionPart, leaf: number): string {
  return fractionDigits(p.frac, p.bits, p.digits, leaf);
}

/** Size of the left part: the largest leaf·2^j below `digits`, so that left subtrees are perfectly balanced. */
export function leftDigitsFor(digits: number, leaf: number): number {
  let h = leaf;
  while (2 * h < digits) h *= 2;
  return h;
}

/**
 * The first h digits as their own conversion job: the same fraction, cut to the bits h digits need. Needs no
 * multiplication, so another thread can start on it at once; skipDigits says whether it was safe.
 */
export function truncatePart(frac: bigint, bits: number, h: number): FractionPart {
  const leftBits = bitsForDigits(h);
  return leftBits < bits
    ? { frac: frac >> BigInt(bits - leftBits), bits: leftBits, digits: h }
    : { frac, bits, digits: h };
}

/**
 * The digits after the first h (of `digits`): frac(f·10^h), cut to the bits they need. If that remainder is
 * within 2^−(GUARD_BITS−8) of zero, the truncated left part could come out one unit low, so the exact left
 * digits are returned as well (by toString; this essentially never happens).
 */
export function skipDigits(frac: bigint, bits: number, h: number, digits: number): RightSplit {
  ({ frac, bits } = widen(frac, bits, digits));
  const m = digits - h;
  // frac·10^h / 2^bits = frac·5^h / 2^restBits: the integer part is the left digits, the rest the right ones.
  // The rest is (frac mod 2^restBits)·5^h mod 2^restBits: frac's top h bits never reach it, so the product
  // leaves them out (about a sixth shorter).
  const restBits = bits - h;
  const rest = dropDigits(frac, bits, h);
  const rightBits = bitsForDigits(m);
  const right = rightBits < restBits
    ? { frac: rest >> BigInt(restBits - rightBits), bits: rightBits, digits: m }
    : { frac: rest, bits: restBits, digits: m };
  if (rest >> BigInt(Math.max(0, restBits - GUARD_BITS + 8)) === 0n) {
    return { right, exactLeft: ((frac * pow5(h)) >> BigInt(restBits)).toString().padStart(h, "0") };
  }
  return { right };
}

/**
 * The fraction frac/2^bits after its first k decimal digits: frac·5^k mod 2^(bits−k), read with
 * bits − k bits (0 < k < bits). `cached`: take 5^k from the power cache (a conversion's own sizes).
 */
export function dropDigits(frac: bigint, bits: number, k: number, cached = true): bigint {
  const gmp = gmpDropDigits(frac, bits, k);
  if (gmp !== null) return gmp;
  const restBits = bits - k;
  return BigInt.asUintN(restBits, BigInt.asUintN(restBits, frac) * (cached ? pow5(k) : 5n ** BigInt(k)));
}

/** Fill the power cache for converting `digits` digits (so the work can happen while this thread idles). */
export function warmPowers(digits: number): void {
  if (gmpConverts(digits)) return;
  const leaf = leafSizeFor(digits);
  for (let h = leaf; h < digits; h *= 2) pow5(h);
}

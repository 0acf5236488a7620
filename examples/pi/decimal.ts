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
 */

/** Fractional bits kept beyond each part's own digit count. */
export const GUARD_BITS = 64;
/** Leaves hold between LEAF_MIN and 2·LEAF_MIN digits; V8's toString is fastest per digit at this size. */
const LEAF_MIN = 300;
const LOG2_10 = Math.log2(10);

/**
 * Per-thread cache of 5^k; the tree asks for k = leaf·2^j, built by repeated squaring. Multiplying by 10^k
 * is multiplying by 5^k and moving the binary point by k, and 5^k is 30% shorter than 10^k.
 */
const powCache = new Map<number, bigint>();

/** 5^k, cached. */
export function pow5(k: number): bigint {
  let v = powCache.get(k);
  if (v === undefined) {
    v = k % 2 === 0 && k >= 2 * LEAF_MIN ? pow5(k / 2) ** 2n : 5n ** BigInt(k);
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
 * leaf ∈ [LEAF_MIN, 2·LEAF_MIN). Every left child then has exactly leaf·2^j digits.
 */
export function leafSizeFor(n: number): number {
  let leaf = n;
  while (leaf >= 2 * LEAF_MIN) leaf = Math.ceil(leaf / 2);
  return leaf;
}

/** A pending conversion: the first `digits` digits of frac/2^bits. */
export interface FractionPart {
  frac: bigint;
  bits: number;
  digits: number;
}

/** The two halves of one division step: either half may already be a finished string. */
export interface FractionSplit {
  left: FractionPart | string;
  right: FractionPart;
}

/** First `digits` decimal digits of frac / 2^bits (frac must satisfy 0 ≤ frac < 2^bits). */
export function fractionDigits(frac: bigint, bits: number, digits: number, leaf = leafSizeFor(digits)): string {
  if (digits <= 0) return "";
  if (digits <= leaf) {
    const s = ((frac * pow5(digits)) >> BigInt(bits - digits)).toString();
    return s.padStart(digits, "0");
  }
  const { left, right } = splitFraction(frac, bits, digits, leaf);
  const l = typeof left === "string" ? left : fractionDigits(left.frac, left.bits, left.digits, leaf);
  return l + fractionDigits(right.frac, right.bits, right.digits, leaf);
}

/**
 * One level of the tree: the left part gets the largest leaf·2^j digits below `digits`, the right part the
 * rest. Exposed so a caller can convert the two halves on different threads.
 */
export function splitFraction(frac: bigint, bits: number, digits: number, leaf: number): FractionSplit {
  let h = leaf;
  while (2 * h < digits) h *= 2;
  const m = digits - h;
  // frac·10^h / 2^bits = frac·5^h / 2^restBits: the integer part is the left digits, the rest the right ones.
  const y = frac * pow5(h);
  const restBits = bits - h;
  const rest = BigInt.asUintN(restBits, y);
  const rightBits = bitsForDigits(m);
  const right = rightBits < restBits
    ? { frac: rest >> BigInt(restBits - rightBits), bits: rightBits, digits: m }
    : { frac: rest, bits: restBits, digits: m };
  // Left: convert the (truncated) fraction again, unless the remainder is within 2^-(GUARD_BITS-8) of zero,
  // where the left subtree's own truncations could tip it one unit low.
  if (rest >> BigInt(Math.max(0, restBits - GUARD_BITS + 8)) === 0n) {
    return { left: (y >> BigInt(restBits)).toString().padStart(h, "0"), right };
  }
  const leftBits = bitsForDigits(h);
  const left = leftBits < bits
    ? { frac: frac >> BigInt(bits - leftBits), bits: leftBits, digits: h }
    : { frac, bits, digits: h };
  return { left, right };
}

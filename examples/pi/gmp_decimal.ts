/**
 * The decimal side of the Pi engine on GMP (gmp.ts), for numbers large enough to gain from it; each
 * function returns null when this thread has no GMP, and the caller computes on BigInt (decimal.ts,
 * digits.ts) with the same contract.
 *
 * - {@link gmpFractionDigits}: the first d digits of frac/2^bits are ⌊frac·5^d / 2^(bits−d)⌋, one
 *   product that GMP then prints in base 10 (mpz_get_str, subquadratic). At 620,000 digits: ~45 ms,
 *   against 48–92 ms for decimal.ts's tree on BigInt, whose time swings with V8's collections. The
 *   result is exact, where the tree's last digit may come out one unit low: both meet decimal.ts's
 *   contract.
 * - {@link gmpDropDigits}: the fraction after its first k digits, frac·5^k mod 2^(bits−k). V8 multiplies
 *   such unequal operands slowly (3.3M by 38k bits: 11–14 ms; GMP: about 1 ms, plus ~5 ms to carry
 *   the number both ways).
 *
 * Below {@link GMP_MIN_DIGITS} digits (or its bits) BigInt is as fast and needs no library, so small
 * windows (a stream's first pieces) stay there.
 *
 * @module
 */
import { bitsOf, gmp, type GmpLib, Registers, setBigInt, toBigInt } from "./gmp.ts";

/** Conversions of at least this many digits, and fractions of at least its bits, go to GMP. */
export const GMP_MIN_DIGITS = 20_000;
const GMP_MIN_BITS = Math.ceil(GMP_MIN_DIGITS * Math.log2(10));

/** Whether a conversion of `digits` digits goes to GMP on this thread (it needs no BigInt powers). */
export function gmpConverts(digits: number): boolean {
  return digits >= GMP_MIN_DIGITS && gmp() !== null;
}

/** This thread's two registers (the fraction, then the power of five), empty between calls. */
let registers: Registers | undefined;
const decoder = new TextDecoder();

/**
 * The first `digits` decimal digits of frac / 2^bits (0 ≤ frac < 2^bits), or null when GMP is not
 * available on this thread (the caller converts on BigInt).
 */
export function gmpFractionDigits(frac: bigint, bits: number, digits: number): string | null {
  const lib = gmpConverts(digits) ? gmp() : null;
  if (!lib) return null;
  if (frac < 0n || !Number.isSafeInteger(bits) || bits < 0 || !Number.isSafeInteger(digits) || digits < 1) {
    throw new RangeError(`Cannot convert a fraction of ${bits} bits to ${digits} digits`);
  }
  return withRegisters(lib, (x, power) => {
    setBigInt(lib, x, frac);
    // Also what keeps the printed number within the buffer below: x < 2^bits makes it < 10^digits.
    if (bitsOf(lib, x) > bits) throw new RangeError(`The fraction to convert is not below 2^${bits}`);
    lib.__gmpz_ui_pow_ui(power, 5n, BigInt(digits));
    lib.__gmpz_mul(x, x, power);
    const shift = bits - digits;
    if (shift >= 0) lib.__gmpz_fdiv_q_2exp(x, x, BigInt(shift));
    else lib.__gmpz_mul_2exp(x, x, BigInt(-shift));
    // mpz_get_str writes at most digits + 1 characters (its size estimate may be one high) and a NUL.
    const buffer = new Uint8Array(digits + 2);
    lib.__gmpz_get_str(buffer, 10, x);
    return decoder.decode(buffer.subarray(0, buffer.indexOf(0))).padStart(digits, "0");
  });
}

/**
 * BigInt.asUintN(bits − k, frac·5^k): the fraction frac/2^bits after its first k decimal digits, with
 * bits − k bits (0 < k < bits). Null when this thread has no GMP or `bits` is below GMP_MIN_BITS.
 */
export function gmpDropDigits(frac: bigint, bits: number, k: number): bigint | null {
  const lib = bits >= GMP_MIN_BITS ? gmp() : null;
  if (!lib) return null;
  if (frac < 0n || !Number.isSafeInteger(bits) || !Number.isSafeInteger(k) || k < 1 || k >= bits) {
    throw new RangeError(`Cannot drop ${k} digits of a fraction of ${bits} bits`);
  }
  const restBits = BigInt(bits - k);
  return withRegisters(lib, (x, power) => {
    setBigInt(lib, x, frac);
    // The top k bits of frac only reach past 2^(bits−k): left out of the product.
    lib.__gmpz_fdiv_r_2exp(x, x, restBits);
    lib.__gmpz_ui_pow_ui(power, 5n, BigInt(k));
    lib.__gmpz_mul(x, x, power);
    lib.__gmpz_fdiv_r_2exp(x, x, restBits);
    return toBigInt(lib, x);
  });
}

/** `fn` on this thread's two registers, which it leaves empty (their digits freed) however it ends. */
function withRegisters<R>(lib: GmpLib, fn: (x: Deno.PointerObject, power: Deno.PointerObject) => R): R {
  const r = registers ??= new Registers(lib, 2);
  try {
    return fn(r.at(0), r.at(1));
  } finally {
    r.reset();
  }
}

/**
 * Fixed-point helpers on BigInt for the Pi engine: bit length and square roots by Newton's iteration.
 *
 * Square roots go through the inverse square root r ≈ 1/√v, whose Newton step r += r(1 − v·r²)/2 needs no
 * division. Each step doubles the number of correct bits, so it runs at doubling precision: the early steps
 * work on tiny numbers and the whole root costs about two multiplications at the final size (plus the cheap
 * product by the radicand when it is small, as 10005 is): √10005 to 3.4M bits (a million digits) takes
 * ~29 ms on Deno 2.9, where one full multiplication takes ~20 ms.
 *
 * Pi is formed in binary fixed point, so the engine asks for √10005·2^bits = √(10005·4^bits) (sqrtScaled)
 * rather than √(10005·10^(2k)); isqrt is exact for any n, including 10005·10^(2k).
 */

/** Number of bits of |x| (0 for 0). Hex conversion is linear time and far cheaper than a multiplication. */
export function bitLength(x: bigint): number {
  if (x < 0n) x = -x;
  if (x === 0n) return 0;
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0], 16)));
}

/** Newton precision below which the start value comes straight from a float. */
const FLOAT_BITS = 48;

/**
 * Inverse square root in fixed point: ≈ 2^outBits / √(a / 2^aFrac), where the value a/2^aFrac must lie in
 * [1, 4). The result is within a few units of the last place (tests check ≤ 8). An optional seed (a previous
 * result at lower precision `seedBits`) skips the early Newton steps.
 */
export function invSqrtFixed(
  a: bigint,
  aFrac: number,
  outBits: number,
  seed?: { r: bigint; bits: number },
): bigint {
  // Precision schedule, from the target down: each step may at most double (minus slack) the precision.
  const chain: number[] = [];
  for (let p = outBits;; p = Math.ceil(p / 2) + 3) {
    if (seed && p <= seed.bits) {
      chain.push(p);
      break;
    }
    chain.push(p);
    if (p <= FLOAT_BITS) break;
  }
  chain.reverse();
  let p = chain[0];
  let r: bigint;
  if (seed && p <= seed.bits) {
    r = seed.r >> BigInt(seed.bits - p);
  } else {
    const v = aFrac > 52 ? Number(a >> BigInt(aFrac - 52)) / 2 ** 52 : Number(a) / 2 ** aFrac;
    if (!(v >= 1 && v < 4)) throw new RangeError("invSqrtFixed: value must lie in [1, 4)");
    r = BigInt(Math.round(2 ** p / Math.sqrt(v)));
  }
  for (let i = 1; i < chain.length; i++) {
    const target = chain[i];
    r = newtonStep(a, aFrac, r, p, target);
    p = target;
  }
  return r;
}

/** One Newton step for 1/√v from precision p to precision `out` (out ≤ 2p − 6). */
function newtonStep(a: bigint, aFrac: number, r: bigint, p: number, out: number): bigint {
  // Only out + 8 fractional bits of the radicand can matter at this precision.
  let aa = a;
  let fa = aFrac;
  if (aFrac > out + 8) {
    aa = a >> BigInt(aFrac - out - 8);
    fa = out + 8;
  }
  const fracBits = fa + 2 * p;
  // d = 1 − v·r², small (about 2^−p), computed exactly from the truncated radicand.
  const d = (1n << BigInt(fracBits)) - aa * (r * r);
  // Keep out + 4 fractional bits of d, then add r·d/2 at precision `out`.
  const shift = fracBits - out - 4;
  const dt = shift >= 0 ? d >> BigInt(shift) : d << BigInt(-shift);
  return (r << BigInt(out - p)) + ((r * dt) >> BigInt(p + 5));
}

/**
 * √c · 2^bits for a small positive integer c (like 10005), within a few units of the last place.
 * Computed as c · (1/√c), so only the inverse root needs Newton steps.
 */
export function sqrtScaled(c: bigint, bits: number, seed?: { r: bigint; bits: number }): ScaledRoot {
  const half = Math.floor((bitLength(c) - 1) / 2); // c / 4^half ∈ [1, 4)
  const extra = bitLength(c) + 4; // absorbs the error growth of the final product by c
  const rBits = bits + extra;
  const r = invSqrtFixed(c, 2 * half, rBits, seed);
  return { value: (c * r) >> BigInt(extra + half), r, rBits };
}

/** A scaled square root together with the inverse root it came from (reusable as a Newton seed). */
export interface ScaledRoot {
  value: bigint;
  r: bigint;
  rBits: number;
}

/** Exact ⌊√n⌋ for any n ≥ 0, by the same Newton iteration plus a final correction. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError("isqrt of a negative number");
  let s: bigint;
  if (n < 1n << 52n) {
    s = BigInt(Math.floor(Math.sqrt(Number(n))));
  } else {
    const k = Math.ceil(bitLength(n) / 2); // n / 4^(k−1) ∈ [1, 4)
    const frac = 2 * (k - 1);
    const outBits = k + 8;
    const r = invSqrtFixed(n, frac, outBits);
    s = (n * r) >> BigInt(frac + outBits - k + 1);
  }
  let sq = s * s;
  while (sq > n) {
    s -= 1n;
    sq -= 2n * s + 1n;
  }
  while (sq + 2n * s + 1n <= n) {
    sq += 2n * s + 1n;
    s += 1n;
  }
  return s;
}

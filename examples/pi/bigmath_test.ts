import assert from "node:assert/strict";
import { bitLength, invSqrtFixed, isqrt, sqrtScaled } from "./bigmath.ts";
import { divideApprox, reciprocal } from "./division.ts";
import { fractionDigits, leafSizeFor, skipDigits, truncatePart } from "./decimal.ts";

/** Deterministic pseudo-random bigint of exactly `bits` bits. */
function randomBig(bits: number, seed: number): bigint {
  let x = 1n;
  let s = seed >>> 0 || 1;
  for (let i = 1; i < bits; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x = (x << 1n) | BigInt(s & 1);
  }
  return x;
}

/** Plain Newton isqrt with divisions, as an independent check. */
function slowIsqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

Deno.test("bitLength", () => {
  assert.equal(bitLength(0n), 0);
  assert.equal(bitLength(1n), 1);
  assert.equal(bitLength(-8n), 4);
  assert.equal(bitLength((1n << 1000n) - 1n), 1000);
  assert.equal(bitLength(1n << 1000n), 1001);
});

Deno.test("isqrt is exact and sqrtScaled is within a few units", () => {
  for (let i = 0; i < 60; i++) {
    const n = randomBig(1 + i * 97, i + 1);
    assert.equal(isqrt(n), slowIsqrt(n), `isqrt of a ${1 + i * 97}-bit number`);
    assert.equal(isqrt(n * n), n);
    assert.equal(isqrt(n * n - 1n), n - 1n);
  }
  for (let bits = 1; bits < 9_000; bits += 1 + (bits >> 2)) {
    const exact = slowIsqrt(10005n << BigInt(2 * bits));
    const { value } = sqrtScaled(10005n, bits);
    assert.ok(value - exact <= 8n && exact - value <= 8n, `√10005 at ${bits} bits`);
  }
});

Deno.test("a seeded inverse square root equals an unseeded one", () => {
  const seed = { r: invSqrtFixed(10005n, 12, 3_000), bits: 3_000 };
  const a = invSqrtFixed(10005n, 12, 20_000, seed);
  const b = invSqrtFixed(10005n, 12, 20_000);
  assert.ok(a - b <= 8n && b - a <= 8n);
});

Deno.test("reciprocal and divideApprox stay within a few units of exact division", () => {
  for (let i = 0; i < 80; i++) {
    const d = randomBig(1 + ((i * 7919) % 6_000), 3 * i + 1);
    const n = randomBig(bitLength(d) + ((i * 104729) % 9_000), 3 * i + 2);
    const q = divideApprox(n, d);
    const exact = n / d;
    assert.ok(q - exact <= 4n && exact - q <= 4n, `division ${bitLength(n)}/${bitLength(d)} bits`);
    const p = 1 + ((i * 31) % 5_000);
    const y = reciprocal(d, p);
    const ey = (1n << BigInt(bitLength(d) + p)) / d;
    assert.ok(y - ey <= 4n && ey - y <= 4n, `reciprocal at ${p} bits`);
  }
});

Deno.test("fractionDigits equals exact conversion, also at digit boundaries", () => {
  for (const digits of [1, 7, 299, 300, 601, 1_234, 5_003, 20_000]) {
    const bits = Math.ceil(digits * 3.33) + 80;
    const frac = randomBig(bits, digits) >> 1n;
    const exact = ((frac * 10n ** BigInt(digits)) >> BigInt(bits)).toString().padStart(digits, "0");
    assert.equal(fractionDigits(frac, bits, digits), exact, `${digits} digits`);
  }
  // Values sitting exactly on or next to a split boundary: 0.2, 0.5 ± one unit, tiny, almost 1.
  const bits = 6_000;
  const one = 1n << BigInt(bits);
  for (const frac of [one / 5n, one / 2n - 1n, one / 2n, one / 2n + 1n, 1n, one - 1n, 0n]) {
    const exact = ((frac * 10n ** 1_500n) >> BigInt(bits)).toString().padStart(1_500, "0");
    assert.equal(fractionDigits(frac, bits, 1_500), exact);
  }
});

Deno.test("peeling digits off in two parts reassembles the same string", () => {
  const bits = 40_000;
  const frac = randomBig(bits, 99) >> 1n;
  const whole = fractionDigits(frac, bits, 10_000);
  for (const h of [1, 600, 4_000, 9_999]) {
    const lead = truncatePart(frac, bits, h);
    const { right, exactLeft } = skipDigits(frac, bits, h, 10_000);
    const left = exactLeft ?? fractionDigits(lead.frac, lead.bits, lead.digits);
    assert.equal(left + fractionDigits(right.frac, right.bits, right.digits), whole, `split at ${h}`);
  }
  // A remainder of exactly zero after the lead forces the exact path.
  const half = (1n << BigInt(bits - 1)) + 0n;
  assert.ok(skipDigits(half, bits, 1, 5).exactLeft === "5");
  assert.ok(leafSizeFor(1_000_000) % 64 === 0);
});

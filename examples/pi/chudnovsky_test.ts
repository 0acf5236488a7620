import assert from "node:assert/strict";
import {
  batchRanges,
  CHUD_A,
  DIGITS_PER_TERM,
  GUARD_DIGITS,
  mergeAll,
  mergeRanges,
  splitPoint,
  splitTerms,
  termsForDigits,
  type TermSums,
} from "./chudnovsky.ts";
import { computeBatch } from "./parallel.ts";

Deno.test("termsForDigits covers the last digit plus the guard", () => {
  assert.equal(termsForDigits(0, 1), Math.ceil((1 + GUARD_DIGITS) / DIGITS_PER_TERM) + 1);
  for (const [start, digits] of [[0, 1000], [500, 500], [0, 1_000_000], [999_000, 1000]]) {
    const n = termsForDigits(start, digits);
    assert.ok((n - 1) * DIGITS_PER_TERM >= start + digits + GUARD_DIGITS);
  }
  assert.equal(termsForDigits(500, 500), termsForDigits(0, 1000));
  assert.throws(() => termsForDigits(-1, 5), RangeError);
  assert.throws(() => termsForDigits(0, 1.5), RangeError);
});

Deno.test("the first terms are the textbook values", () => {
  assert.deepEqual(splitTerms(0, 1), { P: 1n, Q: 1n, T: CHUD_A });
  const k1 = splitTerms(1, 2);
  assert.equal(k1.P, -(1n * 1n * 5n));
  assert.equal(k1.Q, 10939058860032000n);
  assert.equal(k1.T, k1.P * (CHUD_A + 545140134n));
});

Deno.test("two terms already give pi to 27 digits", () => {
  const { Q, T } = splitTerms(0, 2);
  // pi·10^27 ≈ 426880·√10005·Q/T, with √10005 scaled by 10^40.
  const root = 1000249968757810059447921878763577780015n; // ⌊√10005·10^37⌋ (40 digits)
  const approx = (426880n * root * Q * 10n ** 27n) / (T * 10n ** 37n);
  assert.equal(approx.toString().slice(0, 27), "314159265358979323846264338");
});

Deno.test("merging adjacent ranges equals splitting the whole", () => {
  for (const [a, m, b] of [[0, 1, 2], [0, 5, 13], [3, 4, 40], [10, 33, 90], [0, 60, 61]]) {
    assert.deepEqual(mergeRanges(splitTerms(a, m), splitTerms(m, b)), splitTerms(a, b));
  }
  // Without P on the right, the merge is the same apart from P.
  const noP = mergeRanges(splitTerms(0, 20), splitTerms(20, 45, false));
  const full = splitTerms(0, 45);
  assert.deepEqual(noP, { P: 0n, Q: full.Q, T: full.T });
  assert.deepEqual(splitTerms(0, 45, false), { P: 0n, Q: full.Q, T: full.T });
  assert.throws(() => mergeRanges(noP, splitTerms(45, 46)), RangeError);
});

Deno.test("batch size 1 and uneven batches merge to the same sums as one split", () => {
  const total = 97;
  const whole = splitTerms(0, total);
  for (const size of [1, 2, 7, 10, 96, 97, 500]) {
    const batches = batchRanges(total, size);
    assert.equal(batches[0].a, 0);
    assert.equal(batches.at(-1)!.b, total);
    batches.forEach((batch, i) => {
      assert.equal(batch.index, i);
      if (i > 0) assert.equal(batch.a, batches[i - 1].b);
      assert.ok(batch.b - batch.a <= size && batch.b > batch.a);
    });
    const parts: TermSums[] = batches.map((b) => computeBatch(b.a, b.b));
    assert.deepEqual(mergeAll(parts), whole, `batch size ${size}`);
    // Merging strictly left to right (as a streaming post-processor does) agrees too.
    assert.deepEqual(parts.reduce((acc, p) => mergeRanges(acc, p)), whole, `batch size ${size}, sequential`);
  }
  assert.equal(batchRanges(10, 3).at(-1)!.b - batchRanges(10, 3).at(-1)!.a, 1);
  assert.throws(() => batchRanges(0, 3), RangeError);
  assert.throws(() => batchRanges(10, 0), RangeError);
});

Deno.test("the split point stays inside the range and gives the smaller early terms more room", () => {
  for (const [a, b] of [[0, 2], [0, 3], [5, 70], [0, 70_000], [1000, 1_000_000]]) {
    const m = splitPoint(a, b);
    assert.ok(a < m && m < b, `${a} < ${m} < ${b}`);
  }
  assert.ok(splitPoint(0, 70_000) > 35_000 && splitPoint(0, 70_000) < 35_000 * 1.05);
});

Deno.test("bad ranges are rejected", () => {
  assert.throws(() => splitTerms(5, 5), RangeError);
  assert.throws(() => splitTerms(-1, 3), RangeError);
  assert.throws(() => mergeAll([]), RangeError);
});

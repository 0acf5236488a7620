import assert from "node:assert/strict";
import {
  batchRanges,
  mergeAll,
  mergeRanges,
  splitTerms,
  termsForDigits,
  type TermSums,
} from "./chudnovsky.ts";
import {
  InsufficientTermsError,
  piDigits,
  PiDigitStream,
  piDigitWindow,
  piFixedPoint,
  reliableDigitCount,
  SqrtCache,
} from "./digits.ts";
import { computeBatch, computePiDigits, type PhaseTimings, PiWorkerPool } from "./parallel.ts";
import { referencePi } from "./testing_reference.ts";

Deno.test("1,000 digits match Debian's pi, position 0 being the 3", async () => {
  const ref = await referencePi(1000);
  assert.ok(ref.startsWith("31415926535"));
  assert.equal(piDigits(0, 1000), ref);
  // 762..767 is the run "999999" (the Feynman point): windows ending before, inside and after it.
  for (const n of [1, 2, 10, 761, 762, 763, 765, 767, 768, 999]) {
    assert.equal(piDigits(0, n), ref.slice(0, n), `first ${n}`);
  }
  assert.equal(piDigits(762, 6), "999999");
});

Deno.test("20,000 digits match at several offsets, including the very last ones", async () => {
  const ref = await referencePi(20_000);
  const mine = piDigits(0, 20_000);
  assert.equal(mine.length, 20_000);
  for (const at of [0, 1, 761, 5_000, 12_345, 19_950, 19_990]) {
    assert.equal(mine.slice(at, at + 10), ref.slice(at, at + 10), `offset ${at}`);
  }
  assert.equal(mine.slice(-1), ref.slice(-1));
  assert.equal(mine, ref);
});

Deno.test("windows with start > 0 equal the same slice of a full run", async () => {
  const ref = await referencePi(20_000);
  const windows = [[1, 1], [1, 50], [2, 5], [755, 20], [762, 6], [768, 1], [9_999, 2], [19_000, 1_000], [
    17,
    3_000,
  ]];
  for (const [start, count] of windows) {
    assert.equal(piDigits(start, count), ref.slice(start, start + count), `window ${start}+${count}`);
  }
  // The same sums serve any window that fits them.
  const terms = termsForDigits(0, 20_000);
  const sums = splitTerms(0, terms, false);
  for (const [start, count] of windows) {
    assert.equal(piDigitWindow(sums, terms, start, count), ref.slice(start, start + count));
  }
});

Deno.test("sums merged from batches of any size give the same digits", async () => {
  const ref = await referencePi(3_000);
  const terms = termsForDigits(0, 3_000);
  for (const size of [1, 13, 64, terms - 1]) {
    const sums = mergeAll(batchRanges(terms, size).map((b) => computeBatch(b.a, b.b)));
    assert.equal(piDigitWindow(sums, terms, 0, 3_000), ref, `batch size ${size}`);
  }
});

Deno.test("too few terms are refused instead of printing wrong digits", () => {
  const sums = splitTerms(0, 10, false); // good for ~140 digits
  assert.throws(() => piDigitWindow(sums, 10, 0, 200), InsufficientTermsError);
  assert.throws(() => piDigitWindow(sums, 10, 150, 10), InsufficientTermsError);
  assert.equal(piDigitWindow(sums, 10, 0, reliableDigitCount(10)).length, reliableDigitCount(10));
});

Deno.test("the stream emits each certain digit once, as batches arrive", async () => {
  const ref = await referencePi(5_000);
  const terms = termsForDigits(0, 5_000);
  const stream = new PiDigitStream();
  let prefix: TermSums | undefined;
  let out = "";
  for (const b of batchRanges(terms, 37)) {
    const batch = computeBatch(b.a, b.b);
    prefix = prefix ? mergeRanges(prefix, batch) : batch;
    const fresh = stream.update(prefix, b.b);
    assert.equal(stream.emitted, out.length + fresh.length);
    assert.ok(stream.emitted <= reliableDigitCount(b.b));
    assert.ok(stream.emitted >= reliableDigitCount(b.b) - 40, "digits lag far behind the terms");
    out += fresh;
  }
  assert.ok(out.length >= 5_000);
  assert.equal(out.slice(0, 5_000), ref);
  assert.equal(stream.update(prefix!, terms), "", "nothing new without new terms");
});

Deno.test("the square root cache answers lower precisions by shifting", () => {
  const cache = new SqrtCache();
  const sums = splitTerms(0, 30, false);
  const high = piFixedPoint(sums, 1_000, cache.get(1_000));
  const low = piFixedPoint(sums, 600, cache.get(600));
  assert.ok((high >> 400n) - low <= 1n && low - (high >> 400n) <= 1n);
});

Deno.test("the parallel path matches the reference (20,000 and 100,000 digits, and windows)", async () => {
  const pool = new PiWorkerPool(2);
  try {
    const ref = await referencePi(100_000);
    const timings = {} as PhaseTimings;
    assert.equal(await computePiDigits(20_000, { pool, timings }), ref.slice(0, 20_000));
    assert.ok(timings.total > 0 && timings.split > 0);
    assert.equal(await computePiDigits(100_000, { pool }), ref);
    assert.equal(await computePiDigits(8_000, { pool, start: 91_000 }), ref.slice(91_000, 99_000));
    assert.equal(await computePiDigits(50_000, { pool, start: 50_000 }), ref.slice(50_000));
    assert.equal(await computePiDigits(5, { pool, start: 762 }), "99999");
    // Batches computed on a worker cross postMessage intact.
    assert.deepEqual(await pool.run({ op: "split", a: 10, b: 60, withP: true }, 1), splitTerms(10, 60));
  } finally {
    pool.close();
  }
});

Deno.test("a pool of one worker is all the schedule needs", async () => {
  const pool = new PiWorkerPool(1);
  try {
    const ref = await referencePi(12_000);
    assert.equal(await computePiDigits(12_000, { pool }), ref);
  } finally {
    pool.close();
  }
});

Deno.test("computePiDigits manages its own workers when given none", async () => {
  const ref = await referencePi(10_000);
  assert.equal(await computePiDigits(10_000), ref);
  assert.equal(await computePiDigits(3), "314");
});

import { rejects, throws } from "node:assert/strict";
import { assertEquals } from "../helpers/assert.ts";
import { splitPoint, termsForDigits } from "../../examples/pi/chudnovsky.ts";
import { planWindow } from "../../examples/pi/digits.ts";
import { correction } from "../../examples/pi/halves.ts";
import { EndCorrections } from "../../examples/pi/end_corrections.ts";
import { runTask } from "../../examples/pi/tasks.ts";
import { PiWorkerPool } from "../../examples/pi/worker_pool.ts";

const DIGITS = 30_000;
const terms = termsForDigits(0, DIGITS);
const bits = planWindow(terms, 0, DIGITS).bits;
const m = splitPoint(0, terms, 0.35);

/** The left part, the last batch's ratio and the correction this thread computes, as the reference. */
function reference() {
  const { left } = runTask({ op: "splitWithLeft", m, bits });
  const { ratio } = runTask({ op: "splitWithRatio", a: m, b: terms, withP: false, bits });
  return { left, u: ratio, delta: correction(ratio, left.correction) };
}

Deno.test("the end's correction starts on a pool thread once both parts are in, in either order", async () => {
  const { left, u, delta } = reference();
  const pool = new PiWorkerPool(2);
  try {
    for (const leftFirst of [true, false]) {
      const ends = new EndCorrections(() => pool);
      const key = `job-${leftFirst}`;
      if (leftFirst) ends.leftPart(key, left);
      else ends.lastBatch(key, m, bits, u);
      assertEquals(await ends.get(key), undefined, "not with one part only");
      if (leftFirst) ends.lastBatch(key, m, bits, u);
      else ends.leftPart(key, left);
      assertEquals(await ends.get(key), { m, bits, value: delta });
      ends.drop(key);
      assertEquals(await ends.get(key), undefined, "gone with its assembly");
    }
  } finally {
    pool.close();
  }
});

Deno.test("parts of different cuts get no correction, nor does a job whose threads are all busy", async () => {
  const { left, u } = reference();
  const pool = new PiWorkerPool(1);
  try {
    const ends = new EndCorrections(() => pool);
    ends.leftPart("other", left);
    ends.lastBatch("other", m + 1, bits, u);
    assertEquals(await ends.get("other"), undefined);
    // The only thread is busy with another job's batch: the assembly computes δ itself instead of waiting.
    const busy = pool.run({ op: "split", a: 0, b: 2000, withP: true }, 0);
    ends.leftPart("queued", left);
    ends.lastBatch("queued", m, bits, u);
    assertEquals(await ends.get("queued"), undefined);
    await busy;
  } finally {
    pool.close();
  }
});

Deno.test("a left part that comes while the last batch runs gets δ right behind it, from the ratio its thread kept", async () => {
  const { left, u, delta } = reference();
  const pool = new PiWorkerPool(2);
  try {
    const ends = new EndCorrections(() => pool);
    // The last batch runs on thread 1; the left part comes meanwhile.
    const batch = pool.run({ op: "splitWithRatio", a: m, b: terms, withP: false, bits }, 1);
    ends.lastBatchRunning("job", { a: m, b: terms, bits, worker: 1 });
    ends.leftPart("job", left);
    const early = ends.pending("job");
    assertEquals(early !== undefined, true, "δ is under way before the batch's ratio reached this thread");
    assertEquals((await batch).ratio, u);
    ends.lastBatch("job", m, bits, u);
    assertEquals(ends.pending("job"), early, "the ratio's arrival does not start δ again");
    assertEquals(await ends.get("job"), { m, bits, value: delta });

    // Another ratio kept on the thread in between (another job's last batch): δ fails over there, and
    // the job's end is left to the assembly, which computes it from the fragments.
    const other = pool.run({ op: "splitWithRatio", a: m + 1, b: terms, withP: false, bits }, 1);
    ends.lastBatchRunning("late", { a: m, b: terms, bits, worker: 1 });
    ends.leftPart("late", left);
    await other;
    assertEquals(await ends.get("late"), undefined);
  } finally {
    pool.close();
  }
});

Deno.test("a correction task takes the kept ratio it names, once, and refuses any other", () => {
  const { left, delta } = reference();
  const ratioOf = { a: m, b: terms, bits };
  runTask({ op: "splitWithRatio", ...ratioOf, withP: false });
  assertEquals(runTask({ op: "correction", input: left.correction, ratioOf }), delta);
  throws(() => runTask({ op: "correction", input: left.correction, ratioOf }), /no ratio/);
  runTask({ op: "splitRatio", m, n: terms, bits });
  throws(
    () => runTask({ op: "correction", input: left.correction, ratioOf: { ...ratioOf, bits: bits + 1 } }),
    /no ratio/,
  );
  assertEquals(runTask({ op: "correction", input: left.correction, ratioOf }), delta);
});

Deno.test("with the ratio first, δ runs where the last batch ran and takes the ratio kept there; a failed batch keeps none", async () => {
  const { left, u, delta } = reference();
  const pool = new PiWorkerPool(2);
  try {
    const ends = new EndCorrections(() => pool);
    const ratioOf = { a: m, b: terms, bits };
    ends.lastBatchRunning("job", { ...ratioOf, worker: 1 });
    assertEquals((await pool.run({ op: "splitWithRatio", ...ratioOf, withP: false }, 1)).ratio, u);
    ends.lastBatch("job", m, bits, u);
    ends.leftPart("job", left);
    assertEquals(await ends.get("job"), { m, bits, value: delta });
    // Taken: the thread holds the ratio no longer.
    await rejects(pool.run({ op: "correction", input: left.correction, ratioOf }, 1), /no ratio/);

    // The last batch failed: a left part that comes afterwards does not queue δ on its thread.
    ends.lastBatchRunning("failed", { ...ratioOf, worker: 1 });
    ends.lastBatchFailed("failed");
    ends.leftPart("failed", left);
    assertEquals(ends.pending("failed"), undefined);
  } finally {
    pool.close();
  }
});

import { assert, assertEquals } from "../helpers/assert.ts";
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

/** The left part and the correction this thread computes for the same cut, as the reference. */
function reference() {
  const { left } = runTask({ op: "splitWithLeft", m, bits });
  const { ratio } = runTask({ op: "splitWithRatio", a: m, b: terms, withP: false, bits });
  return { left, delta: correction(ratio, left.correction) };
}

Deno.test("the end's correction runs beside the last batch's ratio, whichever part is known first", async () => {
  const { left, delta } = reference();
  const pool = new PiWorkerPool(2);
  try {
    for (const leftFirst of [true, false]) {
      const ends = new EndCorrections(() => pool);
      const key = `job-${leftFirst}`;
      if (leftFirst) ends.leftPart(key, left);
      const batch = pool.run({ op: "splitWithRatio", a: m, b: terms, withP: false, bits, keep: key }, 1);
      ends.lastBatch(key, 1, m, bits);
      assertEquals(await ends.get(key), undefined, "not while the last batch still computes");
      if (!leftFirst) ends.leftPart(key, left);
      await batch;
      ends.lastBatchDone(key);
      assertEquals(await ends.get(key), { m, bits, value: delta });
      ends.drop(key, pool);
    }
  } finally {
    pool.close();
  }
});

Deno.test("a left part of another cut gets no correction, and a dropped job's kept ratio is forgotten", async () => {
  const { left } = reference();
  const pool = new PiWorkerPool(1);
  try {
    const ends = new EndCorrections(() => pool);
    await pool.run({ op: "splitWithRatio", a: m + 1, b: terms, withP: false, bits, keep: "other" }, 0);
    ends.lastBatch("other", 0, m + 1, bits);
    ends.lastBatchDone("other");
    ends.leftPart("other", left);
    assertEquals(await ends.get("other"), undefined);
    ends.drop("other", pool);
    // The kept ratio is gone: a correction asked for it now fails.
    const failed = await pool.run({ op: "correction", input: left.correction, key: "other" }, 0).then(
      () => false,
      (e: Error) => e.message.includes("without a ratio kept as 'other'"),
    );
    assert(failed, "the ratio was dropped");
  } finally {
    pool.close();
  }
});

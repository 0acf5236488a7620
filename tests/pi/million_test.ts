/**
 * One 1,000,000-digit run, checked against Debian's `pi 1000001` (CLN, an independent source) at
 * several offsets from the first digits to the last; and a --start window near the end of that range
 * against the same slice.
 */
import { assertEquals } from "../helpers/assert.ts";
import { testHost } from "../helpers/in_process.ts";
import { referencePi } from "../../examples/pi/testing_reference.ts";
import { runJob } from "./helpers.ts";

Deno.test("1,000,000 digits equal `pi 1000001` from the first digit to the last", async (t) => {
  await using h = await testHost();
  const [ref, run] = await Promise.all([
    referencePi(1_000_001),
    runJob(h.client, { digits: 1_000_000, maxLoadPerCpu: 1000 }, 120_000),
  ]);
  assertEquals(run.summary.status, "done");
  const digits = run.text[0] + run.text.slice(2);
  assertEquals(run.text[1], ".");
  assertEquals(digits.length, 1_000_000);

  for (const offset of [0, 1, 1000, 123_456, 500_000, 765_432, 999_000, 999_990]) {
    await t.step(`digits ${offset.toLocaleString("en")}.. match`, () => {
      assertEquals(digits.slice(offset, offset + 10), ref.slice(offset, offset + 10));
    });
  }
  await t.step("and every other digit too", () => {
    const at = [...digits].findIndex((d, i) => d !== ref[i]);
    assertEquals(at, -1, `first difference at position ${at}`);
  });

  await t.step("a --start window at the end of the range is the same slice", async () => {
    const window = await runJob(h.client, { start: 998_765, digits: 1235, maxLoadPerCpu: 1000 }, 120_000);
    assertEquals(window.text, ref.slice(998_765, 1_000_000));
  });
});

import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { batchState, estimateBatch, piFromCounts } from "./estimate.ts";

Deno.test("a batch is reproducible from (seed, batch) and batches differ from each other", () => {
  assertEquals(estimateBatch(100_000, 5, 3), estimateBatch(100_000, 5, 3));
  assert(estimateBatch(100_000, 5, 3) !== estimateBatch(100_000, 5, 4));
  assert(estimateBatch(100_000, 6, 3) !== estimateBatch(100_000, 5, 3));
  assert(batchState(0, 0).some((w) => w !== 0));
});

Deno.test("4 × the share inside is within 5 standard errors of Pi", () => {
  const counts = Array.from({ length: 10 }, (_, i) => estimateBatch(200_000, 11, i));
  const { estimate, total } = piFromCounts(counts, 200_000);
  const standardError = 4 * Math.sqrt((Math.PI / 4) * (1 - Math.PI / 4) / total);
  assert(Math.abs(estimate - Math.PI) < 5 * standardError, `estimate ${estimate}`);
});

Deno.test("bad sample counts and seeds are refused, naming the value", () => {
  for (const [samples, seed] of [[-1, 0], [1.5, 0], [2 ** 41, 0], [10, 0.5]]) {
    try {
      estimateBatch(samples, seed);
      assert(false, "accepted");
    } catch (err) {
      assert(err instanceof RangeError && err.message.includes("current value"), String(err));
    }
  }
});

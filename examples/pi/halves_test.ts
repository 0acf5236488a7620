import assert from "node:assert/strict";
import { splitPoint, splitTerms } from "./chudnovsky.ts";
import { piFixedPoint, SqrtCache } from "./digits.ts";
import { piFromHalves, ratioScale, rightRatio } from "./halves.ts";

Deno.test("pi from two halves equals pi from the merged sums, for any cut", () => {
  const cache = new SqrtCache();
  for (const [n, bits] of [[40, 1_800], [300, 14_000], [1_500, 70_000]]) {
    const sqrt = cache.get(bits);
    const whole = piFixedPoint(splitTerms(0, n, false), bits, sqrt);
    for (const share of [0.3, 0.45, 0.5, 0.6]) {
      const m = splitPoint(0, n, share);
      const left = splitTerms(0, m);
      const u = rightRatio(splitTerms(m, n, false), bits, m);
      const x = piFromHalves(left, u, m, bits, sqrt);
      assert.ok(x - whole <= 8n && whole - x <= 8n, `n=${n} m=${m}: off by ${x - whole}`);
    }
  }
});

Deno.test("the ratio scale shrinks as the left half grows", () => {
  assert.ok(ratioScale(70_000, 700) < ratioScale(70_000, 300));
  assert.equal(ratioScale(1_000, 1_000), 64);
});

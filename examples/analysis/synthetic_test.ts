import { notDeepStrictEqual as assertNotEquals, throws } from "node:assert/strict";
import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { SeededRandom } from "./random.ts";
import { makeClassification } from "./synthetic.ts";

Deno.test("a seed gives the same stream every time, and another seed another one", () => {
  const a = new SeededRandom(10000), b = new SeededRandom(10000), c = new SeededRandom(10001);
  const xs = Array.from({ length: 8 }, () => a.nextUint32());
  assertEquals(xs, Array.from({ length: 8 }, () => b.nextUint32()));
  assertNotEquals(xs, Array.from({ length: 8 }, () => c.nextUint32()));
});

Deno.test("normal numbers have mean 0 and variance 1", () => {
  const r = new SeededRandom(7);
  let sum = 0, sq = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const v = r.normal();
    sum += v;
    sq += v * v;
  }
  assert(Math.abs(sum / n) < 0.01, `mean ${sum / n}`);
  assert(Math.abs(sq / n - 1) < 0.02, `variance ${sq / n}`);
});

Deno.test("synthetic data is deterministic from its seed, balanced, and shaped rows × features", () => {
  const a = makeClassification({ rows: 2000, features: 16, seed: 10000 });
  const b = makeClassification({ rows: 2000, features: 16, seed: 10000 });
  const c = makeClassification({ rows: 2000, features: 16, seed: 10001 });
  assertEquals(a.x.length, 2000 * 16);
  assertEquals(a.x, b.x);
  assertEquals(a.y, b.y);
  assertNotEquals(a.x, c.x);
  assertEquals(a.informative, 4);
  assertEquals(a.redundant, 2);
  const ones = a.y.reduce((n, v) => n + v, 0);
  assert(ones > 900 && ones < 1100, `class 1 has ${ones} of 2000 rows`);
});

Deno.test("informative features differ between the classes, noise features do not", () => {
  const d = makeClassification({
    rows: 20_000,
    features: 8,
    informative: 2,
    redundant: 0,
    clustersPerClass: 1,
    seed: 3,
  });
  const spread = (f: number) => {
    const mean = [0, 0], n = [0, 0];
    for (let r = 0; r < d.rows; r++) {
      mean[d.y[r]] += d.x[r * 8 + f];
      n[d.y[r]]++;
    }
    return Math.abs(mean[0] / n[0] - mean[1] / n[1]);
  };
  // One cluster per class, on distinct hypercube vertices: some informative feature separates the means.
  assert(Math.max(spread(0), spread(1)) > 0.3, `informative spreads ${spread(0)}, ${spread(1)}`);
  for (let f = 2; f < 8; f++) assert(spread(f) < 0.1, `noise feature ${f} spread ${spread(f)}`);
});

Deno.test("bad shapes are refused with the value named", () => {
  throws(() => makeClassification({ rows: 1, features: 4, seed: 0 }), {
    name: "RangeError",
    message: /rows/,
  });
  throws(() => makeClassification({ rows: 10, features: 1.5, seed: 0 }), {
    name: "RangeError",
    message: /features/,
  });
  throws(() => makeClassification({ rows: 10, features: 2, informative: 1, classes: 3, seed: 0 }), {
    name: "RangeError",
    message: /clustersPerClass/,
  });
});

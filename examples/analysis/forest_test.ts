import { throws } from "node:assert/strict";
import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { FeatureBins } from "./binning.ts";
import { accuracy, RandomForest } from "./forest.ts";
import { makeClassification } from "./synthetic.ts";

Deno.test("bins are ordered, at most 256, and a value falls in the bin below its cut", () => {
  const x = Float32Array.from({ length: 10_000 }, (_, i) => Math.sin(i) * 100);
  const bins = FeatureBins.fit(x, 1);
  const e = bins.edges[0];
  assert(e.length <= 255 && e.length > 200, `${e.length} cuts`);
  for (let i = 1; i < e.length; i++) assert(e[i] > e[i - 1]);
  assertEquals(bins.binOf(0, e[0] - 1e-3), 0);
  assertEquals(bins.binOf(0, e[0]), 1);
  assertEquals(bins.binOf(0, 1e9), e.length);
});

Deno.test("a feature with few distinct values gets one bin per value", () => {
  const x = Float32Array.from({ length: 1000 }, (_, i) => i % 3);
  const bins = FeatureBins.fit(x, 1);
  assertEquals([...bins.edges[0]], [1, 2]);
  assertEquals([...bins.binRows(Float32Array.of(0, 1, 2))], [0, 1, 2]);
});

function split(rows: number, features: number, seed: number) {
  const d = makeClassification({ rows, features, seed });
  const train = Math.floor(rows * 0.8);
  return {
    xTrain: d.x.subarray(0, train * features),
    yTrain: d.y.subarray(0, train),
    xTest: d.x.subarray(train * features),
    yTest: d.y.subarray(train),
    informative: d.informative + d.redundant,
  };
}

Deno.test("the forest learns synthetic data well above chance on held-out rows", () => {
  const s = split(6000, 12, 10000);
  const forest = RandomForest.fit(s.xTrain, s.yTrain, 12, { trees: 20, seed: 1 });
  const acc = accuracy(forest.predict(s.xTest), s.yTest);
  assert(acc > 0.85, `accuracy ${acc}`);
  assertEquals(forest.treeCount, 20);
});

Deno.test("a fully grown tree without bootstrap fits its training rows (but for identical binned rows)", () => {
  const s = split(2000, 8, 5);
  const forest = RandomForest.fit(s.xTrain, s.yTrain, 8, { trees: 1, bootstrap: false, maxFeatures: 8 });
  assert(accuracy(forest.predict(s.xTrain), s.yTrain) > 0.99);
});

Deno.test("the same seed gives the same forest; probabilities sum to 1 per row", () => {
  const s = split(3000, 8, 11);
  const a = RandomForest.fit(s.xTrain, s.yTrain, 8, { trees: 5, seed: 9 });
  const b = RandomForest.fit(s.xTrain, s.yTrain, 8, { trees: 5, seed: 9 });
  const pa = a.predictProba(s.xTest);
  assertEquals(pa, b.predictProba(s.xTest));
  for (let r = 0; r < 20; r++) assert(Math.abs(pa[2 * r] + pa[2 * r + 1] - 1) < 1e-5);
});

Deno.test("importances sum to 1 and favour the informative features over the noise", () => {
  const s = split(6000, 16, 21);
  const imp = RandomForest.fit(s.xTrain, s.yTrain, 16, { trees: 20, seed: 2 }).featureImportances();
  assert(Math.abs(imp.reduce((a, v) => a + v, 0) - 1) < 1e-9);
  const signal = imp.slice(0, s.informative), noise = imp.slice(s.informative);
  assert(Math.min(...signal) > Math.max(...noise), `signal ${signal} noise ${noise}`);
});

Deno.test("bad training input is refused with the value named", () => {
  const x = new Float32Array(10), y = new Uint8Array(5);
  throws(() => RandomForest.fit(x, y, 3), { name: "RangeError", message: /rows × features/ });
  throws(() => RandomForest.fit(x, y, 2, { trees: 0 }), { name: "RangeError", message: /trees/ });
  throws(() => RandomForest.fit(x, y, 2, { maxBins: 1 }), { name: "RangeError", message: /maxBins/ });
});

import assert from "node:assert/strict";
import { changedMasks, elasticMasks } from "./elastic_affinity.ts";

const eight = [0, 1, 2, 3, 4, 5, 6, 7];

Deno.test("a single lease may use every eligible CPU", () => {
  assert.deepEqual(
    elasticMasks([{ leaseId: "a", cpuIds: [2], grantedAt: 1 }], eight),
    new Map([["a", eight]]),
  );
});

Deno.test("spare CPUs are spread evenly, round-robin in grant order", () => {
  const masks = elasticMasks([
    { leaseId: "late", cpuIds: [1], grantedAt: 20 },
    { leaseId: "early", cpuIds: [0], grantedAt: 10 },
  ], eight);
  assert.deepEqual(masks.get("early"), [0, 2, 4, 6]);
  assert.deepEqual(masks.get("late"), [1, 3, 5, 7]);
});

Deno.test("uneven spares go to the oldest leases first and reserved ids stay with their lease", () => {
  const masks = elasticMasks([
    { leaseId: "a", cpuIds: [0, 1], grantedAt: 1 },
    { leaseId: "b", cpuIds: [2], grantedAt: 2 },
    { leaseId: "c", cpuIds: [3], grantedAt: 3 },
  ], [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(masks.get("a"), [0, 1, 4]);
  assert.deepEqual(masks.get("b"), [2, 5]);
  assert.deepEqual(masks.get("c"), [3]);
});

Deno.test("masks shrink back when new leases arrive", () => {
  const before = elasticMasks([{ leaseId: "a", cpuIds: [0], grantedAt: 1 }], eight);
  const after = elasticMasks([
    { leaseId: "a", cpuIds: [0], grantedAt: 1 },
    { leaseId: "b", cpuIds: [1, 2, 3], grantedAt: 2 },
  ], eight);
  assert.equal(before.get("a")!.length, 8);
  assert.deepEqual(after.get("a"), [0, 4, 6]);
  assert.deepEqual(after.get("b"), [1, 2, 3, 5, 7]);
  assert.deepEqual(changedMasks(before, after), after);
  assert.deepEqual(changedMasks(after, after), new Map());
});

Deno.test("no leases, no masks", () => {
  assert.equal(elasticMasks([], eight).size, 0);
});

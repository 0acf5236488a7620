import assert from "node:assert/strict";
import type { Lease } from "./lease_table.ts";
import { UsageHistory } from "./usage_history.ts";

function lease(id: string, grantedAt = 0): Lease {
  return {
    leaseId: id,
    requestId: `r-${id}`,
    agentId: `a-${id}`,
    jobId: "",
    agentHostUrl: "",
    cpuIds: [0],
    cpuCores: 1,
    memoryBytes: 100,
    tempStorageBytes: 0,
    estimatedRuntimeSeconds: 10,
    grantedAt,
    expiresAt: grantedAt + 130_000,
    extensions: 0,
  };
}

Deno.test("samples keep maxima and a count, per declared path too", () => {
  const usage = new UsageHistory();
  usage.start(lease("x"));
  usage.declarePaths("x", ["/data/out", "/data/in", "/data/out"]);
  usage.record("x", {
    at: 1,
    cpuPercent: 50,
    rssBytes: 300,
    workDirBytes: 10,
    pathBytes: { "/data/out": 5 },
  });
  usage.record("x", {
    at: 2,
    cpuPercent: 90,
    rssBytes: 200,
    workDirBytes: 20,
    pathBytes: { "/data/out": 3 },
  });
  const current = usage.get("x")!;
  assert.deepEqual(current.declaredPaths, ["/data/in", "/data/out"]);
  assert.equal(current.sampleCount, 2);
  assert.equal(current.maxCpuPercent, 90);
  assert.equal(current.maxRssBytes, 300);
  assert.equal(current.maxWorkDirBytes, 20);
  assert.deepEqual(current.maxPathBytes, { "/data/out": 5 });
  assert.equal(current.lastSample?.at, 2);
});

Deno.test("finishing records reason, runtime and a final sample", () => {
  const usage = new UsageHistory();
  usage.start(lease("x", 1000));
  const done = usage.finish("x", "released", 61_000, {
    at: 61_000,
    cpuPercent: 10,
    rssBytes: 999,
    workDirBytes: 0,
  });
  assert.equal(done?.finishReason, "released");
  assert.equal(done?.runtimeSeconds, 60);
  assert.equal(done?.sampleCount, 1);
  assert.equal(done?.maxRssBytes, 999);
  assert.equal(usage.get("x"), undefined);
  assert.equal(usage.record("x", { at: 1, cpuPercent: 1, rssBytes: 1, workDirBytes: 1 }), undefined);
  assert.equal(usage.finish("x", "released", 0), undefined);
});

Deno.test("the history keeps only the newest finished jobs", () => {
  const usage = new UsageHistory({ limit: 3 });
  for (let i = 0; i < 5; i++) {
    usage.start(lease(`l${i}`));
    usage.finish(`l${i}`, i % 2 ? "expired" : "cancelled", i);
  }
  assert.deepEqual(usage.finished().map((u) => u.leaseId), ["l2", "l3", "l4"]);
  assert.deepEqual(usage.finished().map((u) => u.finishReason), ["cancelled", "expired", "cancelled"]);
  assert.throws(() => new UsageHistory({ limit: -1 }), RangeError);
});

Deno.test("sampling is due once the interval has passed", () => {
  const usage = new UsageHistory();
  usage.start(lease("x"));
  assert.ok(usage.dueForSample("x", 0, 60_000));
  usage.record("x", { at: 0, cpuPercent: 0, rssBytes: 0, workDirBytes: 0 });
  assert.ok(!usage.dueForSample("x", 59_999, 60_000));
  assert.ok(usage.dueForSample("x", 60_000, 60_000));
  assert.ok(!usage.dueForSample("unknown", 0, 1));
  assert.ok(usage.discard("x"));
  assert.equal(usage.finished().length, 0);
});

Deno.test("sizes measured after a lease finished amend its history entry", () => {
  const history = new UsageHistory();
  const amended = lease("amended");
  history.start(amended);
  history.declarePaths(amended.leaseId, ["/data/out"]);
  history.finish(amended.leaseId, "released", 2_000, {
    at: 2_000,
    cpuPercent: 90,
    rssBytes: 10,
    workDirBytes: 0,
  });
  assert.equal(
    history.amendFinished(amended.leaseId, { workDirBytes: 4096, pathBytes: { "/data/out": 12 } }),
    true,
  );
  const [entry] = history.finished();
  assert.equal(entry.maxWorkDirBytes, 4096);
  assert.deepEqual(entry.maxPathBytes, { "/data/out": 12 });
  assert.equal(entry.lastSample?.workDirBytes, 4096);
  assert.equal(history.amendFinished("unknown", { workDirBytes: 1 }), false);
});

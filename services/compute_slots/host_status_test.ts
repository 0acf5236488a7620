import assert from "node:assert/strict";
import {
  buildHostStatus,
  canEverSatisfy,
  canRunNow,
  GPU_NOT_SUPPORTED,
  placementScore,
} from "./host_status.ts";
import { GIB, hostSample, peerStatus, SimulatedClock, slotRequest } from "./test_fixtures.ts";

const clock = new SimulatedClock();

Deno.test("GPU jobs are rejected by admission", () => {
  const verdict = canEverSatisfy(peerStatus("a"), slotRequest(clock, { requiresGpu: true }));
  assert.deepEqual(verdict, { ok: false, reason: GPU_NOT_SUPPORTED });
  assert.equal(GPU_NOT_SUPPORTED, "gpu admission not supported");
});

Deno.test("tags and exclusions are hard constraints", () => {
  const host = peerStatus("linux-a", { tags: ["linux", "ssd"] });
  assert.ok(canEverSatisfy(host, slotRequest(clock, { requiredHostTags: ["linux"] })).ok);
  assert.deepEqual(canEverSatisfy(host, slotRequest(clock, { requiredHostTags: ["gpu"] })), {
    ok: false,
    reason: "host lacks required tag 'gpu'",
  });
  assert.deepEqual(canEverSatisfy(host, slotRequest(clock, { excludedHostTags: ["ssd"] })), {
    ok: false,
    reason: "host has excluded tag 'ssd'",
  });
  assert.match(
    (canEverSatisfy(host, slotRequest(clock, { excludedHostNames: ["LINUX-A"] })) as { reason: string })
      .reason,
    /host name 'linux-a' is excluded/,
  );
  assert.match(
    (canEverSatisfy(host, slotRequest(clock, { excludedHostUrls: ["http://linux-a:8765/"] })) as {
      reason: string;
    })
      .reason,
    /host url .* is excluded/,
  );
});

Deno.test("eventual fit is judged on eligible CPUs and total memory and storage", () => {
  const host = peerStatus("a", { cpus: 2, free: 0 });
  assert.ok(canEverSatisfy(host, slotRequest(clock, { cpuCores: 2 })).ok);
  assert.deepEqual(canEverSatisfy(host, slotRequest(clock, { cpuCores: 3 })), {
    ok: false,
    reason: "needs 3 cpu cores, host has 2 eligible",
  });
  assert.ok(!canEverSatisfy(host, slotRequest(clock, { memoryBytes: 17 * GIB })).ok);
  assert.ok(!canEverSatisfy(host, slotRequest(clock, { tempStorageBytes: 101 * GIB })).ok);
  assert.ok(!canRunNow(host, slotRequest(clock, { cpuCores: 1 })).ok, "all cores reserved");
});

Deno.test("free capacity is eligible ids minus reservations, memory and temp likewise", () => {
  const sample = hostSample({ cpus: 4, memoryAvailableBytes: 10 * GIB, workFreeBytes: 50 * GIB });
  const status = buildHostStatus(sample, {
    queueLength: 0,
    activeLeases: 1,
    reservedCpuCores: 3,
    reservedMemoryBytes: 4 * GIB,
    reservedTempStorageBytes: 20 * GIB,
    freeCpuCores: 1,
  });
  assert.equal(status.freeMemoryBytes, 6 * GIB);
  assert.equal(status.freeTempStorageBytes, 30 * GIB);
  assert.ok(canRunNow(status, slotRequest(clock, { cpuCores: 1, memoryBytes: 6 * GIB })).ok);
  assert.match(
    (canRunNow(status, slotRequest(clock, { cpuCores: 2 })) as { reason: string }).reason,
    /needs 2 free cpu cores, 1 free/,
  );
  assert.ok(!canRunNow(status, slotRequest(clock, { memoryBytes: 7 * GIB })).ok);
  assert.ok(!canRunNow(status, slotRequest(clock, { tempStorageBytes: 31 * GIB })).ok);
});

Deno.test("load average does not block admission of an idle-reservation host", () => {
  const busy = peerStatus("a", { cpus: 4, load1: 12 });
  assert.equal(busy.loadPerCpu, 3);
  assert.ok(canRunNow(busy, slotRequest(clock)).ok);
});

Deno.test("a host whose status has errors cannot run anything now", () => {
  const broken = peerStatus("a", { errors: ["memory sample failed"] });
  assert.deepEqual(canRunNow(broken, slotRequest(clock)), {
    ok: false,
    reason: "host status has errors: memory sample failed",
  });
});

Deno.test("preferred tags lower the placement score, capped at 0.75", () => {
  const plain = peerStatus("a");
  const tagged = peerStatus("b", { tags: ["a1", "a2", "a3", "a4"] });
  const req = slotRequest(clock, { preferredHostTags: ["a1", "a2", "a3", "a4"] });
  assert.equal(placementScore(plain, req), 0);
  assert.equal(placementScore(tagged, req), -0.75);
  assert.equal(placementScore(tagged, slotRequest(clock, { preferredHostTags: ["a1"] })), -0.25);
});

Deno.test("placement score adds load, pressure and a tenth per queued request", () => {
  const status = peerStatus("a", { cpus: 4, load1: 2, queueLength: 3, memoryAvailableBytes: 8 * GIB });
  assert.ok(Math.abs(placementScore(status, slotRequest(clock)) - (0.5 + 0.5 + 0.3)) < 1e-9);
});

import assert from "node:assert/strict";
import { LeaseTable, leaseTtlMs } from "./lease_table.ts";
import { SimulatedClock, slotRequest } from "./test_fixtures.ts";

const clock = new SimulatedClock();

Deno.test("leases reserve exact CPU ids, first free first, and skip reserved ids", () => {
  const table = new LeaseTable({ eligibleCpuIds: [3, 0, 1, 2] });
  const a = table.grant(slotRequest(clock, { cpuCores: 2 }), clock.ms)!;
  const b = table.grant(slotRequest(clock, { cpuCores: 1 }), clock.ms)!;
  assert.deepEqual(a.cpuIds, [0, 1]);
  assert.deepEqual(b.cpuIds, [2]);
  table.release(a.leaseId);
  const c = table.grant(slotRequest(clock, { cpuCores: 3 }), clock.ms)!;
  assert.deepEqual(c.cpuIds, [0, 1, 3]);
  assert.equal(table.reservedCpuCores, 4);
  assert.equal(table.freeCpuCores(), 0);
});

Deno.test("a grant that needs more cores than are free is refused", () => {
  const table = new LeaseTable({ eligibleCpuIds: [0, 1] });
  assert.ok(table.grant(slotRequest(clock, { cpuCores: 2 }), clock.ms));
  assert.equal(table.grant(slotRequest(clock, { cpuCores: 1 }), clock.ms), undefined);
  assert.equal(table.size, 1);
});

Deno.test("memory and temp storage reservations add up and are returned on release", () => {
  const table = new LeaseTable({ eligibleCpuIds: [0, 1] });
  const a = table.grant(slotRequest(clock, { memoryBytes: 100, tempStorageBytes: 10 }), clock.ms)!;
  table.grant(slotRequest(clock, { memoryBytes: 50, tempStorageBytes: 5 }), clock.ms);
  assert.equal(table.reservedMemoryBytes, 150);
  assert.equal(table.reservedTempStorageBytes, 15);
  assert.equal(table.release(a.leaseId)?.leaseId, a.leaseId);
  assert.equal(table.release(a.leaseId), undefined);
  assert.equal(table.reservedMemoryBytes, 50);
});

Deno.test("the TTL is the runtime plus two minutes, at least one minute", () => {
  assert.equal(leaseTtlMs(0), 120_000);
  assert.equal(leaseTtlMs(300), 420_000);
  const table = new LeaseTable({ eligibleCpuIds: [0] });
  const lease = table.grant(slotRequest(clock, { estimatedRuntimeSeconds: 30 }), 1000)!;
  assert.equal(lease.expiresAt, 1000 + 150_000);
});

Deno.test("expired leases of live agents are extended, those of gone agents dropped", () => {
  const table = new LeaseTable({ eligibleCpuIds: [0, 1, 2], extensionMs: 300_000 });
  const alive = table.grant(slotRequest(clock, { agentId: "alive" }), 0)!;
  const gone = table.grant(slotRequest(clock, { agentId: "gone" }), 0)!;
  const goneEarly = table.grant(
    slotRequest(clock, { agentId: "gone-early", estimatedRuntimeSeconds: 3600 }),
    0,
  )!;
  const isAlive = (lease: { agentId: string }) => lease.agentId === "alive";
  const result = table.sweep(200_000, isAlive);
  assert.deepEqual(result.extended.map((l) => l.leaseId), [alive.leaseId]);
  assert.deepEqual(result.expired.map((l) => l.leaseId), [gone.leaseId]);
  assert.deepEqual(result.inactive.map((l) => l.leaseId), [goneEarly.leaseId]);
  assert.equal(table.get(alive.leaseId)?.expiresAt, 500_000);
  assert.equal(table.get(alive.leaseId)?.extensions, 1);
  assert.equal(table.size, 1);
  assert.deepEqual(table.freeCpuIds(), [1, 2]);
  assert.equal(table.nextExpiryAt(), 500_000);
});

Deno.test("a shrunk mask never lets reservations exceed the eligible ids", () => {
  const table = new LeaseTable({ eligibleCpuIds: [0, 1, 2, 3] });
  table.grant(slotRequest(clock, { cpuCores: 1 }), 0);
  table.grant(slotRequest(clock, { cpuCores: 1 }), 0);
  table.setEligibleCpuIds([0, 1]);
  assert.equal(table.freeCpuCores(), 0);
  assert.equal(table.grant(slotRequest(clock), 0), undefined);
});

Deno.test("owner lookup finds a lease by agent, request or job", () => {
  const table = new LeaseTable({ eligibleCpuIds: [0, 1] });
  const req = slotRequest(clock, { agentId: "a", jobId: "job-7" });
  const lease = table.grant(req, 0)!;
  assert.equal(table.forOwner({ requestId: "x", agentId: "a", jobId: "" })?.leaseId, lease.leaseId);
  assert.equal(table.forOwner({ requestId: req.requestId, agentId: "b", jobId: "" })?.leaseId, lease.leaseId);
  assert.equal(table.forOwner({ requestId: "x", agentId: "b", jobId: "job-7" })?.leaseId, lease.leaseId);
  assert.equal(table.forOwner({ requestId: "x", agentId: "b", jobId: "" }), undefined);
});

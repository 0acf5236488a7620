import assert from "node:assert/strict";
import { whyWaiting } from "./why.ts";
import { GIB, peerStatus, SimulatedClock, slotRequest } from "./test_fixtures.ts";

Deno.test("why: requests ahead that fit take their share first; the rest name what they lack", () => {
  const clock = new SimulatedClock();
  const host = peerStatus("local", { cpus: 4, free: 2 });
  const queue = [
    slotRequest(clock, { cpuCores: 1 }),
    slotRequest(clock, { cpuCores: 2, memoryBytes: 64 * GIB }),
    slotRequest(clock, { cpuCores: 1 }),
    slotRequest(clock, { cpuCores: 1, tempStorageBytes: 500 * GIB }),
  ];
  const rows = whyWaiting(host, queue, { now: clock.ms });
  assert.deepEqual(rows.map((r) => r.grantable), [true, false, true, false]);
  assert.deepEqual(rows[1].blockers.map((b) => b.kind), ["never", "cpu", "memory"]);
  assert.deepEqual(rows[3].blockers.map((b) => b.kind), ["never", "cpu", "temp-storage"]);
  assert.match(rows[1].blockers[1].detail, /needs 2 cores, 1 free/);
});

Deno.test("why: on a loaded host the next pass's first grant goes out, the one after waits for the burst limit", () => {
  const clock = new SimulatedClock();
  const host = { ...peerStatus("local", { cpus: 4, free: 2 }), load1: 4.5 };
  const [first, second] = whyWaiting(host, [slotRequest(clock), slotRequest(clock)], {
    burstLoadPerCpu: 1.0,
    now: clock.ms,
  });
  assert.equal(first.grantable, true);
  assert.equal(second.grantable, false);
  assert.deepEqual(second.blockers.map((b) => b.kind), ["load"]);
});

Deno.test("why: host status errors and redirect cooldowns are reported", () => {
  const clock = new SimulatedClock();
  const host = { ...peerStatus("local", { cpus: 2 }), errors: ["memory size unknown"] };
  const request = slotRequest(clock, { lastRedirectAt: clock.ms - 10_000 });
  const [row] = whyWaiting(host, [request], { redirectCooldownMs: 60_000, now: clock.ms });
  assert.deepEqual(row.blockers.map((b) => b.kind), ["host-status"]);
  assert.equal(row.redirectCooldownLeftMs, 50_000);
});

Deno.test("why: the burst limit judges measured load of other processes over a stale load average", () => {
  const clock = new SimulatedClock();
  const stale = { ...peerStatus("local", { cpus: 4, free: 2 }), load1: 4.5, otherCpuBusy: 0.2 };
  const two = () => [slotRequest(clock), slotRequest(clock)];
  assert.deepEqual(whyWaiting(stale, two(), { now: clock.ms }).map((r) => r.grantable), [true, true]);
  const busy = { ...stale, otherCpuBusy: 2.5 };
  const [, row] = whyWaiting(busy, two(), { now: clock.ms });
  assert.deepEqual(row.blockers.map((b) => b.kind), ["load"]);
  assert.match(row.blockers[0].detail, /projected load per cpu 1\.38 >= burst limit 1/);
});

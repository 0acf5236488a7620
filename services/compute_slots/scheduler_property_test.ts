import assert from "node:assert/strict";
import type { Lease } from "./lease_table.ts";
import { SlotScheduler } from "./scheduler.ts";
import { GIB, hostSample, peerStatus, SimulatedClock, slotRequest } from "./test_fixtures.ts";
import { prng } from "../../tests/helpers/prng.ts";

const ELIGIBLE = [0, 2, 3, 5, 6, 7];

function checkInvariants(scheduler: SlotScheduler, context: string): void {
  const { host, leases, queue } = scheduler.status();
  const seen = new Set<number>();
  let cores = 0;
  let memory = 0;
  for (const lease of leases) {
    assert.equal(lease.cpuIds.length, lease.cpuCores, `${context}: lease holds exactly its cores`);
    for (const id of lease.cpuIds) {
      assert.ok(ELIGIBLE.includes(id), `${context}: cpu ${id} is eligible`);
      assert.ok(!seen.has(id), `${context}: cpu ${id} is reserved once`);
      seen.add(id);
    }
    cores += lease.cpuCores;
    memory += lease.memoryBytes;
  }
  assert.ok(
    cores <= ELIGIBLE.length,
    `${context}: ${cores} reserved cores <= ${ELIGIBLE.length} eligible ids`,
  );
  assert.equal(host.reservedCpuCores, cores, context);
  assert.equal(host.reservedMemoryBytes, memory, context);
  assert.equal(host.freeCpuCores, ELIGIBLE.length - cores, context);
  const agents = leases.map((l: Lease) => l.agentId);
  assert.equal(new Set(agents).size, agents.length, `${context}: one lease per agent`);
  for (const { request } of queue) {
    assert.ok(!agents.includes(request.agentId), `${context}: a queued agent holds no lease`);
  }
  const queuedAgents = queue.map((q) => q.request.agentId);
  assert.equal(new Set(queuedAgents).size, queuedAgents.length, `${context}: one queue entry per agent`);
}

for (const seed of [1, 7, 42, 2024, 99991]) {
  Deno.test(`random requests and releases never reserve more cores than eligible ids (seed ${seed})`, () => {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const clock = new SimulatedClock();
    const alive = new Set<string>();
    const scheduler = new SlotScheduler({
      host: hostSample({ cpus: 8, eligibleCpuIds: ELIGIBLE, observedAt: clock.ms }),
      now: clock.now,
      maxGrantsPerPass: 3,
      isAgentAlive: (lease) => alive.has(lease.agentId),
    });
    scheduler.observePeer(peerStatus("peer", { cpus: 4 }));
    const agents = Array.from({ length: 25 }, (_, i) => `agent-${i}`);
    for (let step = 0; step < 1500; step++) {
      const roll = random();
      let op = "";
      if (roll < 0.4) {
        const agentId = pick(agents);
        alive.add(agentId);
        op = `request ${agentId}`;
        scheduler.request(slotRequest(clock, {
          agentId,
          jobId: random() < 0.3 ? `job-${Math.floor(random() * 8)}` : "",
          cpuCores: 1 + Math.floor(random() * 7),
          memoryBytes: Math.floor(random() * 6) * GIB,
          estimatedRuntimeSeconds: Math.floor(random() * 300),
        }));
      } else if (roll < 0.6) {
        const leases = scheduler.status().leases;
        const target = leases.length > 0 && random() < 0.8 ? pick(leases).leaseId : pick(agents);
        op = `release ${target}`;
        scheduler.release(target);
      } else if (roll < 0.8) {
        op = "pass";
        const { grants } = scheduler.pass();
        if (grants.length > 0 && random() < 0.1) scheduler.undoGrant(grants[0].lease.leaseId);
      } else if (roll < 0.85) {
        op = "cancel";
        scheduler.cancel({ agentIds: [pick(agents)], includeLeases: random() < 0.5 });
      } else if (roll < 0.9) {
        op = "sweep";
        for (const agent of agents) if (random() < 0.1) alive.delete(agent);
        scheduler.sweepLeases();
      } else if (roll < 0.95) {
        op = "advance";
        clock.advance(Math.floor(random() * 120_000));
      } else {
        op = "sample";
        scheduler.observeHost(hostSample({
          cpus: 8,
          eligibleCpuIds: ELIGIBLE,
          observedAt: clock.advance(1),
          load1: random() * 12,
          memoryAvailableBytes: Math.floor(random() * 16) * GIB,
        }));
        scheduler.observePeer(
          peerStatus("peer", { cpus: 4, free: Math.floor(random() * 5), observedAt: clock.ms }),
        );
      }
      checkInvariants(scheduler, `seed ${seed} step ${step} (${op})`);
    }
  });
}

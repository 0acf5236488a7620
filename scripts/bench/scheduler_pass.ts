/**
 * Benchmark: the compute-slots scheduling core with 1,000 queued requests.
 *
 * The original scheduler granted on a 15 s tick; ours runs a pass on every
 * request and release, so a pass over a long queue must cost microseconds.
 * Measured on a saturated 64-CPU host (the case where the queue is long):
 *
 * - `pass`: one scheduling pass that grants nothing: on a full host (it stops
 *   at once), with one core free but every waiter needing more (it scans all
 *   waiters), and with 20 fresh peers that are full (no redirect target);
 * - `cycle`: release one lease → pass (grants the oldest waiter that fits) →
 *   a new request joins the queue (`sleep`), i.e. one job finishing and one arriving;
 * - `request`: one `request()` decision that ends in the queue;
 * - `candidates`: ranking 100 peer statuses for a placement.
 *
 * Run: `deno run -A scripts/bench/scheduler_pass.ts [--iterations 2000]`
 */
import { parseArgs } from "node:util";
import { SlotScheduler } from "../../services/compute_slots/scheduler.ts";
import type { HostSample, SchedulerHostStatus } from "../../services/compute_slots/host_status.ts";
import { buildHostStatus } from "../../services/compute_slots/host_status.ts";
import { normalizeSlotRequest, type SlotRequest } from "../../services/compute_slots/request.ts";
import { median, percentile, us } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { iterations: { type: "string", default: "2000" } },
});
const iterations = Number(values.iterations);
const QUEUED = 1000;
const CPUS = 64;
const GIB = 1024 ** 3;

let clockMs = 1_700_000_000_000;
const now = () => clockMs;
let serial = 0;

function sample(name: string, cpus: number, load1 = 0): HostSample {
  return {
    hostName: name,
    hostUrl: `http://${name}:8765`,
    observedAt: clockMs,
    cpuCount: cpus,
    eligibleCpuIds: Array.from({ length: cpus }, (_, i) => i),
    affinitySupported: true,
    load1,
    memoryTotalBytes: 256 * GIB,
    memoryAvailableBytes: 200 * GIB,
    workTotalBytes: 2000 * GIB,
    workFreeBytes: 1500 * GIB,
    tags: ["linux", "x86_64"],
    properties: {},
    errors: [],
  };
}

/** A mix of sizes so an oldest-fit scan has gaps to consider. */
function request(): SlotRequest {
  serial += 1;
  return normalizeSlotRequest({
    agentId: `agent-${serial}`,
    jobId: `job-${serial}`,
    cpuCores: 1 + (serial % 4),
    memoryBytes: (serial % 8) * GIB,
    estimatedRuntimeSeconds: 600,
    requiredHostTags: ["linux"],
  }, { now });
}

/** Lease ids in grant order, so the cycle can release the oldest without a status snapshot. */
const leaseIds: string[] = [];

function saturatedScheduler(): SlotScheduler {
  const scheduler = new SlotScheduler({ host: sample("bench", CPUS), now, maxGrantsPerPass: 4 });
  leaseIds.length = 0;
  for (let i = 0; i < CPUS; i++) {
    const decision = scheduler.request(
      normalizeSlotRequest({ agentId: `filler-${i}`, cpuCores: 1 }, { now }),
    );
    if (decision.decision !== "run_now") throw new Error(`setup: filler ${i} got ${decision.decision}`);
    leaseIds.push(decision.lease.leaseId);
  }
  for (let i = 0; i < QUEUED; i++) {
    clockMs += 1;
    if (scheduler.request(request()).decision !== "sleep") throw new Error("setup: a waiter was not queued");
  }
  return scheduler;
}

function fullPeer(i: number): SchedulerHostStatus {
  return buildHostStatus(sample(`peer-${i}`, 32, 30), {
    queueLength: 50,
    activeLeases: 32,
    reservedCpuCores: 32,
    reservedMemoryBytes: 0,
    reservedTempStorageBytes: 0,
    freeCpuCores: 0,
  });
}

/** Requests normalised ahead of time, so the timed ops measure the scheduler, not zod. */
function prepared(count: number): () => SlotRequest {
  const requests = Array.from({ length: count }, request);
  let next = 0;
  return () => requests[next++ % requests.length];
}

function measure(name: string, setup: () => () => void): void {
  const op = setup();
  for (let i = 0; i < Math.min(200, iterations); i++) op();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    op();
    times.push(performance.now() - t0);
  }
  const med = median(times);
  console.log(
    `${name.padEnd(44)} median ${us(med).padStart(10)}  p99 ${us(percentile(times, 99)).padStart(10)}  ` +
      `(${Math.round(1000 / med).toLocaleString("en")} ops/s)`,
  );
}

console.log(`compute-slots scheduler, ${QUEUED} queued requests, ${CPUS} CPUs, ${iterations} iterations`);

measure("pass, nothing fits, no peers", () => {
  const scheduler = saturatedScheduler();
  return () => scheduler.pass();
});

measure("pass, 1 core free, every waiter needs 2+ (full scan)", () => {
  const scheduler = saturatedScheduler();
  scheduler.cancel({
    requestIds: scheduler.status().queue.filter((q) => q.request.cpuCores === 1).map((q) =>
      q.request.requestId
    ),
  });
  scheduler.release(leaseIds.shift()!);
  return () => {
    if (scheduler.pass().grants.length > 0) throw new Error("nothing should fit");
  };
});

measure("pass, nothing fits, 20 full peers", () => {
  const scheduler = saturatedScheduler();
  for (let i = 0; i < 20; i++) scheduler.observePeer(fullPeer(i));
  return () => scheduler.pass();
});

measure("cycle: release + pass (grant) + request", () => {
  const scheduler = saturatedScheduler();
  const nextRequest = prepared(iterations + 200);
  return () => {
    clockMs += 1;
    scheduler.release(leaseIds.shift()!);
    for (const grant of scheduler.pass().grants) leaseIds.push(grant.lease.leaseId);
    const decision = scheduler.request(nextRequest());
    if (decision.decision === "run_now") leaseIds.push(decision.lease.leaseId);
  };
});

measure("request() ending in the queue", () => {
  const scheduler = saturatedScheduler();
  const nextRequest = prepared(iterations + 200);
  return () => {
    clockMs += 1;
    if (scheduler.request(nextRequest()).decision !== "sleep") throw new Error("expected sleep");
  };
});

measure("normalizeSlotRequest (zod, at the boundary)", () => request);

measure("candidateHosts over 100 peers", () => {
  const scheduler = saturatedScheduler();
  const peers = Array.from({ length: 100 }, (_, i) => fullPeer(i));
  const req = request();
  return () => scheduler.candidateHosts(req, peers);
});

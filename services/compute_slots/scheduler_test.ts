import assert from "node:assert/strict";
import type { SlotDecision } from "./decisions.ts";
import type { Lease } from "./lease_table.ts";
import type { SlotRequestInput } from "./request.ts";
import { SlotScheduler, type SlotSchedulerOptions } from "./scheduler.ts";
import { hostSample, peerStatus, SimulatedClock, slotRequest } from "./test_fixtures.ts";

function setup(options: Partial<SlotSchedulerOptions> & { cpus?: number; load1?: number } = {}) {
  const { cpus = 4, load1 = 0, ...rest } = options;
  const clock = new SimulatedClock();
  const scheduler = new SlotScheduler({
    host: hostSample({ cpus, load1, observedAt: clock.ms }),
    now: clock.now,
    ...rest,
  });
  const ask = (input: Partial<SlotRequestInput> = {}) => {
    const request = slotRequest(clock, input);
    return { request, decision: scheduler.request(request) };
  };
  return { clock, scheduler, ask };
}

function leaseOf(decision: SlotDecision): Lease {
  assert.equal(decision.decision, "run_now", `expected run_now, got ${JSON.stringify(decision)}`);
  return (decision as { lease: Lease }).lease;
}

Deno.test("an idle host grants at once and reserves exact CPU ids", () => {
  const { ask } = setup();
  const lease = leaseOf(ask({ cpuCores: 2, estimatedRuntimeSeconds: 10 }).decision);
  assert.deepEqual(lease.cpuIds, [0, 1]);
  assert.equal(lease.expiresAt - lease.grantedAt, 130_000);
  assert.deepEqual(leaseOf(ask().decision).cpuIds, [2]);
});

Deno.test("a full host queues requests and says where each waits", () => {
  const { ask } = setup({ cpus: 2 });
  leaseOf(ask({ cpuCores: 2 }).decision);
  const first = ask().decision;
  const second = ask().decision;
  assert.deepEqual(
    [first, second].map((d) => d.decision === "sleep" && [d.position, d.queueLength, d.hostName]),
    [[1, 1, "local"], [2, 2, "local"]],
  );
});

Deno.test("oldest fit: a small later job fills a gap a big older job cannot use", () => {
  const { scheduler, ask } = setup({ cpus: 4 });
  leaseOf(ask({ cpuCores: 3 }).decision);
  const gap = leaseOf(ask({ cpuCores: 1 }).decision);
  const big = ask({ cpuCores: 2 });
  const small = ask({ cpuCores: 1 });
  assert.equal(small.decision.decision, "sleep");
  scheduler.release(gap.leaseId);
  const { grants } = scheduler.pass();
  assert.deepEqual(grants.map((g) => g.request.requestId), [small.request.requestId]);
  assert.deepEqual(grants[0].lease.cpuIds, [3]);
  assert.deepEqual(scheduler.status().queue.map((q) => q.request.requestId), [big.request.requestId]);
});

Deno.test("a pass is work-conserving: every waiter that fits is granted", () => {
  const { scheduler, ask } = setup({ cpus: 4 });
  const all = leaseOf(ask({ cpuCores: 4 }).decision);
  const waiters = [1, 2, 1, 1].map((cpuCores) => ask({ cpuCores }).request);
  scheduler.release(all.leaseId);
  const pass = scheduler.pass();
  assert.deepEqual(pass.grants.map((g) => g.request.requestId), waiters.slice(0, 3).map((w) => w.requestId));
  assert.equal(pass.throttled, false);
  assert.equal(scheduler.hostStatus().freeCpuCores, 0);
  assert.equal(scheduler.hostStatus().queueLength, 1);
});

Deno.test("a new request does not overtake an older waiter that fits", () => {
  const { scheduler, ask } = setup({ cpus: 4, maxGrantsPerPass: 1 });
  const all = leaseOf(ask({ cpuCores: 4 }).decision);
  ask();
  ask();
  scheduler.release(all.leaseId);
  assert.equal(scheduler.pass().grants.length, 1);
  assert.equal(ask().decision.decision, "sleep", "two older waiters still fit");
});

Deno.test("at most maxGrantsPerPass grants per pass; throttled asks for another pass", () => {
  const { scheduler, ask } = setup({ cpus: 8, maxGrantsPerPass: 2 });
  const all = leaseOf(ask({ cpuCores: 8 }).decision);
  for (let i = 0; i < 5; i++) ask();
  scheduler.release(all.leaseId);
  const sizes = [scheduler.pass(), scheduler.pass(), scheduler.pass()].map((
    p,
  ) => [p.grants.length, p.throttled]);
  assert.deepEqual(sizes, [[2, true], [2, true], [1, false]]);
});

Deno.test("load throttles bursts but never blocks the first grant", () => {
  const { clock, scheduler, ask } = setup({ cpus: 4, load1: 8 });
  const three = leaseOf(ask({ cpuCores: 3 }).decision);
  // A direct grant is the one a pass would make first: load does not hold it.
  leaseOf(ask().decision);
  for (let i = 0; i < 3; i++) assert.equal(ask().decision.decision, "sleep", "the host is full");
  scheduler.release(three.leaseId);
  assert.deepEqual([1, 1, 1].map(() => scheduler.pass().grants.length), [1, 1, 1]);
  assert.equal(scheduler.hostStatus().freeCpuCores, 0);
  scheduler.observeHost(hostSample({ cpus: 4, load1: 0, observedAt: clock.advance(1000) }));
  assert.equal(scheduler.hostStatus().loadPerCpu, 0);
});

Deno.test("measured load of other processes replaces a stale load average in the burst gate", () => {
  // A minute-old load average of 2 on 2 CPUs, while the other processes measured idle: a pass
  // grants both waiting one-core requests; once they keep more than a core busy, the first only.
  for (const [otherCpuBusy, grants] of [[0, 2], [1.2, 1]]) {
    const { clock, scheduler, ask } = setup({ cpus: 2, load1: 2 });
    const both = leaseOf(ask({ cpuCores: 2 }).decision);
    ask();
    ask();
    scheduler.observeHost(hostSample({ cpus: 2, load1: 2, otherCpuBusy, observedAt: clock.advance(1) }));
    scheduler.release(both.leaseId);
    assert.equal(scheduler.pass().grants.length, grants, `${otherCpuBusy} busy cores of others + 1 reserved`);
  }
});

Deno.test("reservations count at once against the burst threshold", () => {
  const { scheduler, ask } = setup({ cpus: 4, burstLoadPerCpu: 0.5 });
  const all = leaseOf(ask({ cpuCores: 4 }).decision);
  for (let i = 0; i < 4; i++) ask();
  scheduler.release(all.leaseId);
  const pass = scheduler.pass();
  assert.equal(pass.grants.length, 2, "after two one-core grants the projected load is 0.5 per CPU");
  assert.equal(pass.throttled, true);
});

Deno.test("an existing lease of the same agent or job is returned again, never a second lease", () => {
  const { scheduler, ask } = setup();
  const lease = leaseOf(ask({ agentId: "job-agent", jobId: "job-1" }).decision);
  const again = ask({ agentId: "job-agent" }).decision;
  assert.equal(leaseOf(again).leaseId, lease.leaseId);
  assert.equal((again as { reused: boolean }).reused, true);
  assert.equal(leaseOf(ask({ agentId: "clone", jobId: "job-1" }).decision).leaseId, lease.leaseId);
  assert.equal(scheduler.status().leases.length, 1);
});

Deno.test("a new request of a queued agent replaces its old queue entry", () => {
  const { scheduler, ask } = setup({ cpus: 1 });
  leaseOf(ask().decision);
  ask({ agentId: "x" });
  ask({ agentId: "y" });
  const replacement = ask({ agentId: "x", cpuCores: 1, memoryBytes: 5 });
  assert.deepEqual(
    scheduler.status().queue.map((q) => [q.request.agentId, q.request.memoryBytes]),
    [["y", 0], ["x", 5]],
  );
  assert.equal(replacement.decision.decision === "sleep" && replacement.decision.position, 2);
});

Deno.test("GPU requests and requests this host can never run are rejected with the reason", () => {
  const { ask } = setup({ cpus: 2 });
  assert.deepEqual(
    ask({ requiresGpu: true, requestId: "g" }).decision,
    { decision: "rejected", requestId: "g", reason: "gpu admission not supported" },
  );
  const tooBig = ask({ cpuCores: 3 }).decision;
  assert.equal(tooBig.decision, "rejected");
  assert.equal((tooBig as { reason: string }).reason, "needs 3 cpu cores, host has 2 eligible");
});

Deno.test("cancel without a filter does nothing; filters select requests and optionally leases", () => {
  const { scheduler, ask } = setup({ cpus: 1 });
  leaseOf(ask({ agentId: "runner", jobId: "run" }).decision);
  const a = ask({ agentId: "a", jobId: "batch" }).request;
  ask({ agentId: "b" });
  ask({ agentId: "c" });
  assert.deepEqual(scheduler.cancel({}), { cancelledRequests: [], releasedLeases: [] });
  assert.deepEqual(scheduler.cancel({ requestIds: [], agentIds: [] }).cancelledRequests, []);
  assert.equal(scheduler.hostStatus().queueLength, 3);
  const byJob = scheduler.cancel({ jobIds: ["batch"] });
  assert.deepEqual(byJob.cancelledRequests.map((r) => r.requestId), [a.requestId]);
  assert.equal(byJob.releasedLeases.length, 0, "leases stay unless includeLeases");
  assert.deepEqual(scheduler.cancel({ agentIds: ["b"] }).cancelledRequests.map((r) => r.agentId), ["b"]);
  const all = scheduler.cancel({ all: true, includeLeases: true });
  assert.deepEqual(all.cancelledRequests.map((r) => r.agentId), ["c"]);
  assert.deepEqual(all.releasedLeases.map((l) => l.agentId), ["runner"]);
  assert.deepEqual(scheduler.usage.finished().map((u) => u.finishReason), ["cancelled"]);
});

Deno.test("leases outliving their TTL are extended while the agent lives and dropped when it is gone", () => {
  const alive = new Set(["worker-1", "worker-2"]);
  const { clock, scheduler, ask } = setup({ cpus: 2, isAgentAlive: (lease) => alive.has(lease.agentId) });
  const one = leaseOf(ask({ agentId: "worker-1" }).decision);
  const two = leaseOf(ask({ agentId: "worker-2", estimatedRuntimeSeconds: 3600 }).decision);
  const waiter = ask({ agentId: "waiter" }).request;
  clock.advance(121_000);
  const first = scheduler.sweepLeases();
  assert.deepEqual(first.extended.map((l) => l.leaseId), [one.leaseId]);
  assert.equal(scheduler.status().leases[0].expiresAt, clock.ms + 300_000);
  alive.delete("worker-1");
  alive.delete("worker-2");
  clock.advance(300_000);
  const second = scheduler.sweepLeases();
  assert.deepEqual(second.expired.map((l) => l.leaseId), [one.leaseId]);
  assert.deepEqual(second.inactive.map((l) => l.leaseId), [two.leaseId]);
  assert.deepEqual(scheduler.usage.finished().map((u) => u.finishReason), ["expired", "inactive"]);
  assert.deepEqual(scheduler.pass().grants.map((g) => g.request.requestId), [waiter.requestId]);
});

Deno.test("release by lease id or by agent id; the history says released", () => {
  const { clock, scheduler, ask } = setup();
  const lease = leaseOf(ask({ agentId: "a" }).decision);
  leaseOf(ask({ agentId: "b" }).decision);
  clock.advance(5000);
  assert.deepEqual(scheduler.release(lease.leaseId).map((l) => l.leaseId), [lease.leaseId]);
  assert.deepEqual(scheduler.release("b").map((l) => l.agentId), ["b"]);
  assert.deepEqual(scheduler.release("nobody"), []);
  assert.deepEqual(scheduler.usage.finished().map((u) => [u.finishReason, u.runtimeSeconds]), [
    ["released", 5],
    ["released", 5],
  ]);
});

Deno.test("an undelivered grant goes back to the queue with its place", () => {
  const { scheduler, ask } = setup({ cpus: 1 });
  const all = leaseOf(ask().decision);
  const waiter = ask().request;
  scheduler.release(all.leaseId);
  const [grant] = scheduler.pass().grants;
  assert.ok(scheduler.undoGrant(grant.lease.leaseId));
  assert.equal(scheduler.undoGrant(grant.lease.leaseId), false);
  assert.deepEqual(scheduler.status().queue.map((q) => q.request.requestId), [waiter.requestId]);
  assert.equal(scheduler.usage.active().length, 0);
  assert.equal(scheduler.pass().grants[0].request.requestId, waiter.requestId);
});

Deno.test("the next deadline is the earliest lease expiry", () => {
  const { scheduler, ask } = setup();
  assert.equal(scheduler.nextDeadline(), undefined);
  const lease = leaseOf(ask({ estimatedRuntimeSeconds: 10 }).decision);
  leaseOf(ask({ estimatedRuntimeSeconds: 100 }).decision);
  assert.equal(scheduler.nextDeadline(), lease.expiresAt);
});

Deno.test("maxActiveLeases caps leases even when CPU ids are free", () => {
  const { ask } = setup({ cpus: 4, maxActiveLeases: 1 });
  leaseOf(ask().decision);
  assert.equal(ask().decision.decision, "sleep");
});

Deno.test("a host whose sample has errors grants nothing", () => {
  const { clock, scheduler, ask } = setup({ cpus: 2 });
  scheduler.observeHost(hostSample({ cpus: 2, observedAt: clock.ms + 1, errors: ["no memory info"] }));
  assert.equal(ask().decision.decision, "sleep");
  assert.equal(scheduler.pass().grants.length, 0);
});

Deno.test("bad scheduler options fail at once naming the value", () => {
  assert.throws(
    () => new SlotScheduler({ host: hostSample(), maxGrantsPerPass: 0 }),
    new RangeError(
      "Cannot create scheduler as 'maxGrantsPerPass' must be an integer >= 1: current value is 0",
    ),
  );
});

Deno.test("elastic masks follow the leases: spare CPUs are lent out and taken back", () => {
  const { scheduler, ask } = setup({ cpus: 4 });
  const first = leaseOf(ask().decision);
  assert.deepEqual(scheduler.elasticMasks(), new Map([[first.leaseId, [0, 1, 2, 3]]]));
  const second = leaseOf(ask({ cpuCores: 2 }).decision);
  assert.deepEqual(
    scheduler.elasticMasks(),
    new Map([[first.leaseId, [0, 3]], [second.leaseId, [1, 2]]]),
  );
});

Deno.test("candidate hosts include this host and report stale peers", async (t) => {
  const { clock, scheduler, ask } = setup({ cpus: 4, peerMaxAgeMs: 20_000 });
  scheduler.observePeer(peerStatus("old", { cpus: 8 }));
  clock.advance(30_000);
  scheduler.observePeer(peerStatus("fresh", { cpus: 8, load1: 4 }));
  leaseOf(ask({ cpuCores: 4 }).decision);
  const request = slotRequest(clock, { cpuCores: 2 });
  await t.step("from known peers", () => {
    const ranked = scheduler.candidateHosts(request);
    assert.deepEqual(ranked.candidates.map((c) => [c.hostName, c.canRunNow]), [["fresh", true], [
      "local",
      false,
    ]]);
    assert.deepEqual(ranked.rejected, [{
      hostName: "old",
      hostUrl: "http://old:8765",
      reason: "status is stale",
    }]);
  });
  await t.step("from peers the caller just asked, without self", () => {
    const ranked = scheduler.candidateHosts(request, [peerStatus("live")], { includeSelf: false });
    assert.deepEqual(ranked.candidates.map((c) => c.hostName), ["live"]);
    assert.deepEqual(ranked.rejected.map((r) => r.reason), ["self excluded"]);
    assert.equal(ranked.selected?.hostName, "live");
  });
});

Deno.test("a sample completed with other processes' cores stops the load average from holding grants back", () => {
  // The start's sample had no such measure (its window was too short) and a load average of 2 on
  // 2 CPUs, left by work that ended: the gate holds the second grant back until a measure arrives.
  const { scheduler, ask } = setup({ cpus: 2, load1: 2 });
  assert.equal(scheduler.otherCpuUnknown, true);
  const both = leaseOf(ask({ cpuCores: 2 }).decision);
  ask();
  ask();
  scheduler.release(both.leaseId);
  assert.equal(scheduler.pass().grants.length, 1, "load 2 + 1 granted on 2 CPUs: the second waits");
  scheduler.observeOtherCpu(0.2);
  assert.equal(scheduler.otherCpuUnknown, false);
  assert.equal(scheduler.pass().grants.length, 1, "0.2 busy cores of others + 1 reserved < 2 × 1.0");
  assert.equal(scheduler.hostStatus().freeCpuCores, 0);
});

/**
 * compute-slots on one real host (in-process, real HTTP): admission by reservation, the queue,
 * pinned compute steps, elastic masks, leases freed when their agent goes, and clear errors.
 */
import { eventually } from "../helpers/in_process.ts";
import { ArtifactClient } from "../../host/artifacts/client.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import {
  affinityTestsSkipped,
  computeHost,
  CPUS,
  createSpinJobs,
  jobState,
  maxOverlap,
  slots,
  slotStatus,
  threadCpus,
  waitForJobs,
} from "./helpers.ts";

const noAffinity = affinityTestsSkipped();

Deno.test("more spin jobs than cores queue and all complete, never with more cores reserved than exist", async () => {
  await using t = await computeHost({ name: "queue" });
  const cores = CPUS.length;
  const ids = await createSpinJobs(t.client, 3 * cores, { cpuCores: 1, ms: 300 });
  let maxReserved = 0;
  let sawQueue = false;
  const states = await (async () => {
    const polling = (async () => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const s = await slotStatus(t.client, { includeQueue: false, includeLeases: false });
        maxReserved = Math.max(maxReserved, s.host.reservedCpuCores);
        sawQueue ||= s.host.queueLength > 0;
        if (s.counters.stepsSucceeded >= ids.length) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const done = await waitForJobs(t.client, ids, 30_000);
    await polling;
    return done;
  })();
  for (const s of states) assertEquals(s.computeStatus, "COMPLETED", s.computeError);
  const status = await slotStatus(t.client, { includeHistory: true });
  assert(maxReserved <= cores, `reserved ${maxReserved} cores of ${cores}`);
  assert(
    status.counters.maxReservedCpuCores <= cores,
    `high-water mark ${status.counters.maxReservedCpuCores}`,
  );
  assert(sawQueue, "some jobs waited in the queue");
  const overlap = maxOverlap(states.map((s) => [s.computeStartedAt, s.computeCompletedAt]));
  assert(overlap <= cores, `${overlap} compute steps overlapped on ${cores} cores`);
  assertEquals(status.host.activeLeases, 0);
  assertEquals(status.host.queueLength, 0);
  assertEquals(status.finishedUsage!.filter((u) => u.finishReason === "released").length, ids.length);
  if (!noAffinity) {
    for (const s of states) {
      assertEquals(s.cpuCoreIds.length, 1);
      assertEquals(s.observedCpus, s.cpuCoreIds, "the compute thread ran on exactly its lease's CPU");
      assert(s.cpuAffinityEnforced);
    }
  }
});

Deno.test({
  name: "the thread running a compute step has Cpus_allowed_list equal to its lease",
  ignore: noAffinity,
  fn: async () => {
    await using t = await computeHost({ name: "pinned", slots: { elasticAffinity: false } });
    const [id] = await createSpinJobs(t.client, 1, { cpuCores: 1, ms: 1500 });
    const lease = await eventually("a running step with a thread id", async () => {
      const s = await slotStatus(t.client);
      return s.leases?.find((l) => l.agentId === id && l.tid !== undefined);
    }, 10_000);
    assertEquals(threadCpus(lease.tid!), lease.cpuIds);
    // The step runs off the paglet's worker: the job answers while it computes.
    const summary = await t.client.send(id, { kind: "compute_status" }) as { computeStatus: string };
    assertEquals(summary.computeStatus, "RUNNING");
    const [done] = await waitForJobs(t.client, [id], 10_000);
    assertEquals(done.observedCpus, lease.cpuIds);
  },
});

Deno.test({
  name: "elastic affinity lends idle CPUs to a lone job and takes them back for a new lease",
  ignore: noAffinity,
  fn: async () => {
    await using t = await computeHost({ name: "elastic" });
    const [first] = await createSpinJobs(t.client, 1, { cpuCores: 1, ms: 4000 });
    const lone = await eventually("the first step widened to every CPU", async () => {
      const lease = (await slotStatus(t.client)).leases?.find((l) => l.agentId === first && l.tid);
      return lease && threadCpus(lease.tid!).length === CPUS.length && lease;
    }, 10_000);
    assertEquals(lone.mask, CPUS);
    const [second] = await createSpinJobs(t.client, 1, { cpuCores: 1, ms: 500 });
    await eventually("the first step shrinks back to its own CPU", async () => {
      const leases = (await slotStatus(t.client)).leases ?? [];
      const other = leases.find((l) => l.agentId === second && l.tid);
      return other && threadCpus(lone.tid!).length === CPUS.length - other.cpuIds.length &&
        !threadCpus(lone.tid!).some((id) => other.cpuIds.includes(id));
    }, 10_000);
    const [secondDone] = await waitForJobs(t.client, [second], 10_000);
    assertEquals(secondDone.observedCpus, secondDone.cpuCoreIds);
    await t.client.dispose(first);
  },
});

Deno.test("disposing a running job frees its lease at once and the next waiting job starts", async () => {
  await using t = await computeHost({ name: "dispose" });
  const cores = CPUS.length;
  const running = await createSpinJobs(t.client, cores, { cpuCores: 1, ms: 2500 });
  await eventually("every core leased", async () => (await slotStatus(t.client)).host.freeCpuCores === 0);
  const [waiting] = await createSpinJobs(t.client, 1, { cpuCores: 1, ms: 100 });
  await eventually(
    "a waiting job",
    async () => (await jobState(t.client, waiting)).computeStatus === "WAITING_FOR_SLOT",
  );
  const disposedAt = Date.now();
  await t.client.dispose(running[0]);
  const [done] = await waitForJobs(t.client, [waiting], 10_000);
  assertEquals(done.computeStatus, "COMPLETED");
  assert(
    done.computeStartedAt - disposedAt < 2000,
    `started ${done.computeStartedAt - disposedAt} ms after the dispose`,
  );
  const status = await slotStatus(t.client, { includeHistory: true });
  const ended = status.finishedUsage!.find((u) => u.agentId === running[0]);
  assertEquals(ended?.finishReason, "cancelled");
  for (const id of running.slice(1)) await t.client.dispose(id);
});

Deno.test("disposing a waiting job removes its queued request", async () => {
  await using t = await computeHost({ name: "dequeue" });
  // Long jobs, disposed at the end: the host stays full however slowly a loaded machine starts them.
  const busy = await createSpinJobs(t.client, CPUS.length, { cpuCores: 1, ms: 60_000 });
  await eventually("every core leased", async () => (await slotStatus(t.client)).host.freeCpuCores === 0);
  const [waiting] = await createSpinJobs(t.client, 1, { cpuCores: 1, ms: 100 });
  await eventually("the job waits asleep", async () => {
    const s = await slotStatus(t.client);
    const asleep = (await t.client.getAgent(waiting)).status === "inactive";
    return asleep && s.queue?.some((q) => q.request.agentId === waiting);
  });
  await t.client.dispose(waiting);
  const status = await slotStatus(t.client);
  assertEquals(status.queue?.filter((q) => q.request.agentId === waiting), []);
  for (const id of busy) await t.client.dispose(id);
});

Deno.test("a compute step that throws fails the job for good and releases its lease", async () => {
  await using t = await computeHost({ name: "fail" });
  const { id } = await t.client.createAgent({ type: "test.failjob", state: { why: "bad input" } });
  const [failed] = await waitForJobs(t.client, [id], 10_000);
  assertEquals(failed.computeStatus, "FAILED_FINAL");
  assert(/RangeError: boom: bad input/.test(failed.computeError), failed.computeError);
  assertEquals(failed.failureSeen, failed.computeError, "afterComputeFailure got the message");
  const status = await slotStatus(t.client);
  assertEquals(status.host.activeLeases, 0);
  assertEquals(status.counters.stepsFailed, 1);
});

Deno.test("prepareCompute fetches a step's input on its host before the step; a failed fetch fails the job", async () => {
  await using t = await computeHost({ name: "inputs" });
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "read by the step");
    const ref = await new ArtifactClient(t.client).upload(file);
    const { id } = await t.client.createAgent({ type: "test.inputjob", state: { input: ref } });
    const [done] = await waitForJobs(t.client, [id], 10_000);
    assertEquals([done.computeStatus, done.text], ["COMPLETED", "READ BY THE STEP"]);

    const missing = { ...ref, id: "0".repeat(32) };
    const { id: other } = await t.client.createAgent({ type: "test.inputjob", state: { input: missing } });
    const [failed] = await waitForJobs(t.client, [other], 10_000);
    assertEquals(failed.computeStatus, "FAILED_FINAL");
    assert(/^prepareCompute failed: .*artifact/i.test(failed.computeError), failed.computeError);
    assertEquals((await slotStatus(t.client)).host.activeLeases, 0);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("a compute step has no context; the job's continuation does, and base fields stay the base's", async () => {
  await using t = await computeHost({ name: "probe" });
  const { id } = await t.client.createAgent({ type: "test.probejob" });
  await waitForJobs(t.client, [id], 10_000, (s) => s.computeStatus === "COMPLETED" && s.continued === 1);
  const s = await jobState(t.client, id);
  assertEquals(s.computed, 42);
  assertEquals(s.stepHostName, "probe");
  assert(/not available inside runComputeJob/.test(String(s.stepContextError)), String(s.stepContextError));
  assertEquals(s.hostsSeen, 1);
  assertEquals(s.computeStatus, "COMPLETED");
  const usage = await eventually("the finished job's sizes in the history", async () => {
    const entry = (await slotStatus(t.client, { includeHistory: true })).finishedUsage?.find((u) =>
      u.agentId === id
    );
    return entry && entry.maxWorkDirBytes > 0 && entry;
  });
  assertEquals(usage.maxWorkDirBytes, 3000);
  assertEquals(Object.values(usage.maxPathBytes), [3000]);
  assertEquals(usage.declaredPaths.length, 1);
  assert(usage.sampleCount >= 1 && usage.maxRssBytes > 0, "a final sample with the process RSS");
});

Deno.test("bad slot requests and job estimates answer 422 with precise codes", async () => {
  await using t = await computeHost({ name: "errors" });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${t.host.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, error: (await res.json()).error as { code: string; message: string } };
  };
  const request = (body: unknown) => post("/v1/services/compute-slots/request-slot", body);
  const zero = await request({ agentId: "a1", cpuCores: 0 });
  assertEquals([zero.status, zero.error.code], [422, "invalid_cpu_cores"]);
  assert(
    /'cpuCores' must be an integer >= 1: current value is 0/.test(zero.error.message),
    zero.error.message,
  );
  const memory = await request({ agentId: "a1", memoryBytes: -5 });
  assertEquals([memory.status, memory.error.code], [422, "invalid_memory_bytes"]);
  const tag = await request({ agentId: "a1", requiredHostTags: ["linux", "no spaces!"] });
  assertEquals([tag.status, tag.error.code], [422, "invalid_host_tag"]);
  assert(/'no spaces!'/.test(tag.error.message), tag.error.message);
  const noAgent = await request({ cpuCores: 1 });
  assertEquals([noAgent.status, noAgent.error.code], [422, "invalid_agent_id"]);

  const job = await post("/v1/agents", { type: "demo.spinjob", state: { cpuCores: 0, ms: 10 } });
  assertEquals([job.status, job.error.code], [422, "invalid_state"]);
  assert(/cpuCores: must be an integer >= 1: current value is 0/.test(job.error.message), job.error.message);
  const badTag = await post("/v1/agents", {
    type: "demo.spinjob",
    state: { requiredHostTags: ["Not A Tag"] },
  });
  assertEquals([badTag.status, badTag.error.code], [422, "invalid_state"]);
  const noMemory = await post("/v1/agents", { type: "demo.spinjob", state: { memoryBytes: 0 } });
  assert(/memoryBytes: must be > 0/.test(noMemory.error.message), noMemory.error.message);

  const gpu = await slots<{ decision: string; reason: string }>(t.client, "request-slot", {
    agentId: "a2",
    requiresGpu: true,
  });
  assertEquals([gpu.decision, gpu.reason], ["rejected", "gpu admission not supported"]);
  // A job no host of the mesh can ever run is refused at create, with each host's reason.
  const gpuJob = await post("/v1/agents", { type: "demo.spinjob", state: { requiresGpu: true, ms: 10 } });
  assertEquals([gpuJob.status, gpuJob.error.code], [422, "invalid_request"]);
  assert(
    /can ever run this job: .*gpu admission not supported/.test(gpuJob.error.message),
    gpuJob.error.message,
  );
  const tooBig = await post("/v1/agents", {
    type: "demo.spinjob",
    state: { cpuCores: CPUS.length + 1, ms: 10 },
  });
  assertEquals([tooBig.status, tooBig.error.code], [422, "invalid_request"]);
  assert(/needs \d+ cpu cores/.test(tooBig.error.message), tooBig.error.message);
  assertEquals((await t.client.listAgents({ type: "demo.spinjob" })).agents.length, 0, "nothing was created");
});

Deno.test("leases of agents that are not on this host are dropped: by the sweep, and when their grant finds no one", async () => {
  await using t = await computeHost({ name: "ghosts", slots: { sweepIntervalMs: 200 } });
  const ghost = await slots<{ decision: string }>(t.client, "request-slot", {
    agentId: "ag_ghost1",
    cpuCores: 1,
  });
  assertEquals(ghost.decision, "run_now");
  await eventually("the sweep drops the ghost's lease", async () => {
    const s = await slotStatus(t.client, { includeHistory: true });
    return s.host.activeLeases === 0 &&
      s.finishedUsage?.some((u) => u.agentId === "ag_ghost1" && u.finishReason === "inactive");
  }, 10_000);
  // Fill the host with real jobs, queue a ghost behind them: its grant cannot be delivered. The
  // jobs are long and disposed (which frees their leases at once), so the host stays full until
  // then however slowly a loaded machine starts them.
  const busy = await createSpinJobs(t.client, CPUS.length, { cpuCores: 1, ms: 60_000 });
  await eventually("every core leased", async () => (await slotStatus(t.client)).host.freeCpuCores === 0);
  const queued = await slots<{ decision: string }>(t.client, "request-slot", {
    agentId: "ag_ghost2",
    cpuCores: 1,
  });
  assertEquals(queued.decision, "sleep");
  for (const id of busy) await t.client.dispose(id);
  await eventually("the undeliverable grant is taken back", async () => {
    const s = await slotStatus(t.client);
    return s.host.activeLeases === 0 && s.host.queueLength === 0 && s.counters.deliveryFailures >= 1;
  }, 10_000);
});

Deno.test("after a host restart a job that was running starts again, unless it opted out", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-test-compute-restart-" });
  try {
    let keep: string, optOut: string;
    {
      await using t = await computeHost({ name: "restart", dataDir });
      [keep] = await createSpinJobs(t.client, 1, { cpuCores: 1, ms: 3000 });
      [optOut] = await createSpinJobs(t.client, 1, {
        cpuCores: 1,
        ms: 3000,
        restartRunningOnHostStartup: false,
      });
      await eventually("both running", async () => {
        const states = await Promise.all([keep, optOut].map((id) => jobState(t.client, id)));
        return states.every((s) => s.computeStatus === "RUNNING");
      }, 10_000);
    }
    await using t = await computeHost({ name: "restart", dataDir });
    const [kept, failed] = await waitForJobs(t.client, [keep, optOut], 20_000);
    assertEquals(kept.computeStatus, "COMPLETED", kept.computeError);
    assertEquals(kept.computeAttempts, 2);
    assertEquals(failed.computeStatus, "FAILED_FINAL");
    assert(/interrupted by a host restart/.test(failed.computeError), failed.computeError);
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

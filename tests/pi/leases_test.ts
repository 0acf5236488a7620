/**
 * Pi batches under compute-slots leases, on one real host beside spin jobs: a batch runs on a thread
 * pinned to its lease's CPU, the scheduler lists the Pi work, and a Pi run among spin jobs never has
 * more cores reserved than exist and still gives Debian's digits.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { exampleServices, examplesExtension } from "../../examples/extension.ts";
import { meshExtension } from "../../host/mesh/mesh_extension.ts";
import { computeSlotsService } from "../../services/compute_slots/service.ts";
import { defaultServices, serviceExtension } from "../../services/mod.ts";
import { referencePi } from "../../examples/pi/testing_reference.ts";
import type { PiBatchOutcome } from "../../examples/pi/operations.ts";
import {
  affinityTestsSkipped,
  COMPUTE_JOBS,
  CPUS,
  createSpinJobs,
  slotStatus,
  waitForJobs,
} from "../compute/helpers.ts";
import { formatted, runJob } from "./helpers.ts";

Deno.test("Pi batches take compute-slots leases beside spin jobs: pinned to the lease, never over the cores", async (t) => {
  // Admission by reservation alone: on a machine busy with other work the burst gate (load average)
  // would hold back grants this test counts on.
  await using h = await testHost({ modules: [COMPUTE_JOBS] }, [
    examplesExtension(),
    meshExtension(),
    serviceExtension([
      ...defaultServices(),
      computeSlotsService({ burstLoadPerCpu: 1000, sampleIntervalMs: 500 }),
      ...exampleServices(),
    ]),
  ]);
  const cores = CPUS.length;

  await t.step({
    name: "a batch beside a running spin job runs on its own leased CPU",
    ignore: cores < 2,
    fn: async () => {
      const [spin] = await createSpinJobs(h.client, 1, { cpuCores: 1, ms: 60_000 });
      const spinLease = await eventually("the spin job's lease", async () => {
        return (await slotStatus(h.client)).leases?.find((l) => l.agentId === spin && l.running);
      }, 10_000);
      const { id } = await h.client.createAgent({
        type: "examples.pi.batch",
        state: { jobId: "t", index: 0 },
      });
      const outcome = await h.client.send(id, {
        kind: "pi.compute_batch",
        args: { jobId: "t", index: 0, a: 0, b: 3000, withP: true, attempt: 1, maxLoadPerCpu: 1000 },
      }) as PiBatchOutcome;
      await h.client.dispose(spin);
      assert(
        outcome.kind === "pi.batch_result",
        `${outcome.kind}: ${"reason" in outcome ? outcome.reason : ""}`,
      );
      assertEquals(outcome.cpuIds?.length, 1);
      assert(!spinLease.cpuIds.includes(outcome.cpuIds![0]), "the batch's CPU is not the spin job's");
      if (!affinityTestsSkipped()) {
        assertEquals(outcome.observedCpus, outcome.cpuIds, "the Pi thread ran on exactly its lease's CPU");
      }
      const status = await slotStatus(h.client, { includeHistory: true });
      assert(
        status.finishedUsage!.some((u) => u.jobId === "pi:t:0" && u.finishReason === "released"),
        "the scheduler saw the batch and its lease was released",
      );
    },
  });

  await t.step(
    "a Pi run among more spin jobs than cores: leases never exceed the cores, digits equal `pi`",
    async () => {
      const ref = await referencePi(30_000);
      const spins = await createSpinJobs(h.client, 2 * cores, { cpuCores: 1, ms: 400 });
      let maxReserved = 0;
      let running = true;
      const polling = (async () => {
        const deadline = Date.now() + 60_000;
        while (running && Date.now() < deadline) {
          const s = await slotStatus(h.client, { includeQueue: false, includeLeases: false });
          maxReserved = Math.max(maxReserved, s.host.reservedCpuCores);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const run = await runJob(h.client, { digits: 30_000, batchSize: 300 });
      const jobs = await waitForJobs(h.client, spins, 30_000);
      running = false;
      await polling;
      assertEquals(run.summary.status, "done", run.summary.error ?? "");
      assertEquals(run.text, formatted(ref, 0));
      for (const j of jobs) assertEquals(j.computeStatus, "COMPLETED", j.computeError);
      const status = await slotStatus(h.client, { includeHistory: true, historyLimit: 0 });
      assert(maxReserved <= cores, `reserved ${maxReserved} cores of ${cores}`);
      assert(
        status.counters.maxReservedCpuCores <= cores,
        `high-water ${status.counters.maxReservedCpuCores}`,
      );
      const piLeases = status.finishedUsage!.filter((u) => u.jobId.startsWith(`pi:${run.summary.jobId}:`));
      assert(
        piLeases.length >= run.summary.batches,
        `${piLeases.length} Pi leases for ${run.summary.batches} batches`,
      );
      assertEquals(status.host.activeLeases, 0);
    },
  );

  await t.step(
    "a job disposed while its batch waits in the queue for a core takes that batch with it",
    async () => {
      const spins = await createSpinJobs(h.client, cores, { cpuCores: 1, ms: 120_000 });
      try {
        await eventually(
          "every core leased",
          async () => (await slotStatus(h.client)).host.freeCpuCores === 0,
        );
        const { id } = await h.client.createAgent({ type: "examples.pi.coordinator" });
        await h.client.send(id, { kind: "pi.start_async", args: { digits: 1000 } });
        await eventually("a batch waits in the queue", async () => {
          const { agents } = await h.client.listAgents({ type: "examples.pi.batch" });
          return agents.length > 0 && (await slotStatus(h.client)).host.queueLength > 0;
        });
        await h.client.dispose(id);
        // The batch would otherwise wait for a core for up to 10 minutes, then compute for no one.
        await eventually("no Pi paglet left, nothing queued", async () => {
          const { agents } = await h.client.listAgents();
          return agents.every((a) => !String(a.type).startsWith("examples.pi.")) &&
            (await slotStatus(h.client)).host.queueLength === 0;
        });
      } finally {
        for (const spin of spins) await h.client.dispose(spin);
      }
    },
  );

  await t.step("a batch disposed while it computes keeps its core until its arithmetic ends", async () => {
    const { id } = await h.client.createAgent({ type: "examples.pi.batch", state: { jobId: "d", index: 0 } });
    // A batch of seconds: the dispose comes while it computes.
    const answer = h.client.send(id, {
      kind: "pi.compute_batch",
      args: { jobId: "d", index: 0, a: 0, b: 100_000, withP: true, attempt: 1, maxLoadPerCpu: 1000 },
    }).catch(() => null);
    await eventually("the batch's lease (its arithmetic starts then)", async () => {
      return (await slotStatus(h.client)).leases?.some((l) => l.agentId === id);
    }, 10_000);
    await h.client.dispose(id);
    await answer;
    // Released by the batch once its arithmetic ended, not taken back when the paglet went
    // ("inactive") while its thread still computed.
    const status = await slotStatus(h.client, { includeHistory: true });
    const usage = status.finishedUsage!.find((u) => u.jobId === "pi:d:0");
    assertEquals(usage?.finishReason, "released");
    assertEquals(status.host.activeLeases, 0);
  });

  await t.step(
    "a batch woken from disk disposes itself: its request went with its old instance",
    async () => {
      const { id } = await h.client.createAgent({
        type: "examples.pi.batch",
        state: { jobId: "w", index: 0 },
      });
      await h.client.deactivate(id);
      await h.client.activate(id);
      await eventually("the batch is gone", () => h.client.getAgent(id).then(() => false, () => true));
    },
  );
});

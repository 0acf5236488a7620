/**
 * A Pi coordinator that starts again while its batches wait on another host, with real host
 * processes: its host stopped and started again, or killed and started again, or the coordinator
 * moved; or while they wait on its own host, its worker replaced. The job ends as failed (its book and digits in flight lived in memory), and the batch
 * workers its former instance placed and its post-processor are disposed: none is left on the other
 * host waiting for a core for no one, and their compute-slots requests are gone. Also when the kill
 * comes before the coordinator's state named them: a batch placed while a handler was half-way (no
 * checkpoint stores the state then), a start that had not answered, a post-processor whose disposal
 * had not ended.
 *
 * The other host's cores are all leased to an idle holder, so the batches wait in its queue and
 * burn no CPU; the entry host fails every batch placed on it (a test fault), so the batches out are
 * the other host's.
 *
 * And a batch whose creation was still in flight in the network when the coordinator's host was
 * killed, and reached the other host only after the next instance's disposal of it found nothing
 * there, disposes itself: its coordinator does not want it.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { hostRow, storedState } from "../helpers/host_db.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH, seesAllOnline } from "../mesh/helpers.ts";
import { FAST, slots, slotStatus } from "../compute/helpers.ts";
import { KERNEL_FIXTURES } from "../kernel/helpers.ts";
import { TcpProxy } from "../helpers/tcp_proxy.ts";
import { HelperJournal } from "../../examples/pi/helper_journal.ts";
import type { PiJobInput, PiStartReply, PiSummary } from "../../examples/pi/mod.ts";
import type { PiCoordinatorState } from "../../examples/pi/coordinator.ts";

const NAMES = ["pi-a", "pi-b"];

/** A job whose batches fail on pi-a and wait in pi-b's queue, two at a time. */
const JOB = {
  digits: 20_000,
  batchSize: 200,
  maxLoadPerCpu: 1000,
  maxWorkersPerHost: 2,
  faults: {
    skipBatches: [] as number[],
    failBatches: [] as { index: number; times: number }[],
    failHosts: ["pi-a"],
  },
};

/** {@link JOB} with more test faults. */
function jobWith(
  faults: Partial<NonNullable<PiJobInput["faults"]>>,
  more: Partial<PiJobInput> = {},
): PiJobInput {
  return { ...JOB, ...more, faults: { ...JOB.faults, ...faults } };
}

/** Leases every core of `host` to an idle paglet (a lease is kept while its holder lives). */
async function holdEveryCore(host: HostProcess): Promise<void> {
  const { id } = await host.client.createAgent({ type: "demo.counter" });
  const cores = (await slotStatus(host.client)).host.eligibleCpuIds.length;
  const decision = await slots<{ decision: string }>(host.client, "request-slot", {
    agentId: id,
    requestId: "holder",
    jobId: "holder",
    cpuCores: cores,
  });
  assertEquals(decision.decision, "run_now", JSON.stringify(decision));
}

/** Starts a job on `entry`; resolves once some of its batches wait in `other`'s compute-slots queue. */
async function batchesWaiting(
  entry: HostProcess,
  other: HostProcess,
): Promise<{ id: string; jobId: string }> {
  const { id } = await entry.client.createAgent({ type: "examples.pi.coordinator" });
  const { jobId } = await entry.client.send(id, { kind: "pi.start_async", args: JOB }) as PiStartReply;
  await eventually(`batches of ${jobId} wait on ${other.name}`, async () => {
    const status = await slotStatus(other.client);
    return (await batchesOf(other, jobId)).length > 0 &&
      (status.queue ?? []).some((q) => q.request.jobId.startsWith(`pi:${jobId}:`));
  }, 30_000);
  return { id, jobId };
}

/** The ids of the job's batch workers waiting in `host`'s compute-slots queue. */
async function queuedOn(host: HostProcess, jobId: string): Promise<string[]> {
  const { queue } = await slotStatus(host.client);
  return (queue ?? []).filter((q) => q.request.jobId.startsWith(`pi:${jobId}:`)).map((q) =>
    q.request.agentId
  );
}

async function batchesOf(host: HostProcess, jobId: string): Promise<string[]> {
  const { agents } = await host.client.listAgents({ type: "examples.pi.batch" });
  return agents.map((a) => String(a.id)).filter((id) => id.startsWith(`${jobId}-`));
}

/** No batch worker or post-processor of the job on `host`, nothing of it queued or leased there. */
async function nothingLeftOn(host: HostProcess, jobId: string): Promise<boolean> {
  const ofJob = (j: string) => j.startsWith(`pi:${jobId}:`);
  const status = await slotStatus(host.client);
  const { agents } = await host.client.listAgents({ type: "examples.pi.post_processor" });
  return (await batchesOf(host, jobId)).length === 0 && !agents.some((a) => a.id === `${jobId}-pp`) &&
    !(status.queue ?? []).some((q) => ofJob(q.request.jobId)) &&
    !(status.leases ?? []).some((l) => ofJob(l.jobId));
}

/** The job ended as interrupted; nothing of it is left but its coordinator, which is then disposed. */
async function endsAndLeavesNothing(
  coordinatorOn: HostProcess,
  hosts: HostProcess[],
  job: { id: string; jobId: string },
  error: RegExp,
): Promise<void> {
  const summary = await coordinatorOn.client.send(job.id, { kind: "pi.summary", args: {} }) as PiSummary;
  assertEquals(summary.status, "failed");
  assert(error.test(summary.error ?? ""), `error: ${summary.error}`);
  for (const host of hosts) {
    await eventually(
      `nothing of ${job.jobId} left on ${host.name}`,
      () => nothingLeftOn(host, job.jobId),
      20_000,
    );
  }
  await coordinatorOn.client.dispose(job.id);
}

Deno.test("a Pi coordinator started again disposes the batches its former instance left on another host", async (t) => {
  try {
    // pi-a comes back on its URL after a restart: pi-b's batches and the coordinator's refs name it.
    const port = freePort();
    const startA = (dataDir?: string) =>
      startHost({ name: "pi-a", port, dataDir, args: FAST_MESH, env: FAST });
    let a = await startA();
    // Reservations alone decide grants on pi-b (the burst gate judges the load of a shared machine).
    const b = await startHost({
      name: "pi-b",
      args: [...FAST_MESH, "--peer", a.url],
      env: { ...FAST, PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000" },
    });
    const bothOnline = async () => await seesAllOnline(a, NAMES) && await seesAllOnline(b, NAMES);
    await eventually("both hosts see each other", bothOnline, 15_000);
    await holdEveryCore(b);

    await t.step("the coordinator's host stopped and started again", async () => {
      const job = await batchesWaiting(a, b);
      await a.stop();
      a = await startA(a.dataDir);
      await endsAndLeavesNothing(a, [b, a], job, /interrupted by a host restart/);
    });

    await t.step("the coordinator's host killed and started again", async () => {
      await eventually("both hosts see each other", bothOnline, 15_000);
      const job = await batchesWaiting(a, b);
      // A crash keeps what the last save stored: one made after the batches reached pi-b.
      const placed = Date.now();
      await eventually("the coordinator's state saved since", () => {
        const row = hostRow<{ updated_at: number }>(
          a.dataDir,
          "SELECT updated_at FROM agents WHERE id = ?",
          job.id,
        );
        return (row?.updated_at ?? 0) > placed;
      }, 10_000);
      await a.kill();
      a = await startA(a.dataDir);
      await endsAndLeavesNothing(a, [b, a], job, /interrupted by a host restart/);
    });

    await t.step(
      "the coordinator's host killed while a batch placed between handlers was in no stored state",
      async () => {
        await eventually("both hosts see each other", bothOnline, 15_000);
        const { id } = await a.client.createAgent({ type: "examples.pi.coordinator" });
        // Every batch's first attempt answers skipped: placed again after a refresh (a timer), one at a
        // time on pi-b, where it waits in the queue.
        const skipBatches = Array.from({ length: 100 }, (_, i) => i);
        const started = await a.client.send(id, {
          kind: "pi.start_async",
          args: jobWith({ skipBatches }, { maxWorkersPerHost: 1 }),
        }) as PiStartReply;
        // A summary that waits for the end holds the state: no checkpoint stores it while it waits.
        const summary = a.client.send(id, { kind: "pi.summary", args: { waitMs: 120_000 } }, {
          timeoutMs: 130_000,
        })
          .catch(() => null);
        await eventually("a batch waiting on pi-b that the stored state does not name", async () => {
          const stored = storedState<PiCoordinatorState>(a.dataDir, id);
          return (await queuedOn(b, started.jobId)).some((batch) => !(batch in (stored?.batchesOut ?? {})));
        }, 30_000);
        await a.kill();
        await summary;
        a = await startA(a.dataDir);
        await endsAndLeavesNothing(a, [b, a], { id, jobId: started.jobId }, /interrupted by a host restart/);
      },
    );

    await t.step("the coordinator's host killed before the start's answer stored the job", async () => {
      await eventually("both hosts see each other", bothOnline, 15_000);
      const { id } = await a.client.createAgent({ type: "examples.pi.coordinator" });
      const start = a.client.send(id, { kind: "pi.start_async", args: jobWith({ holdStart: true }) })
        .catch(() => null);
      const jobId = await eventually(
        "the job's post-processor on pi-a and batches waiting on pi-b",
        async () => {
          const { agents } = await a.client.listAgents({ type: "examples.pi.post_processor" });
          const jobId = agents.map((agent) => String(agent.id).replace(/-pp$/, "")).find((j) =>
            j.startsWith("pi-")
          );
          return jobId && (await queuedOn(b, jobId)).length > 0 && jobId;
        },
        30_000,
      );
      await a.kill();
      await start;
      assertEquals(storedState<PiCoordinatorState>(a.dataDir, id)?.status, "idle", "the job was stored");
      a = await startA(a.dataDir);
      // The start never answered: the coordinator has no job, and nothing of the one it began is left.
      const summary = await a.client.send(id, { kind: "pi.summary", args: {} }) as PiSummary;
      assertEquals(summary.status, "idle");
      for (const host of [b, a]) {
        await eventually(
          `nothing of ${jobId} left on ${host.name}`,
          () => nothingLeftOn(host, jobId),
          20_000,
        );
      }
      await a.client.dispose(id);
    });

    await t.step(
      "the coordinator's host killed while the disposal of an ended job's post-processor was under way",
      async () => {
        await eventually("both hosts see each other", bothOnline, 15_000);
        const { id } = await a.client.createAgent({ type: "examples.pi.coordinator" });
        // The first batch to answer fails the job; the post-processor's disposal then waits (10 s at most).
        const failBatches = Array.from({ length: 100 }, (_, index) => ({ index, times: 1 }));
        const { jobId } = await a.client.send(id, {
          kind: "pi.start_async",
          args: jobWith({ failBatches, holdPostProcessorDispose: true }, { maxAttempts: 1 }),
        }) as PiStartReply;
        await eventually(
          "the ended job stored",
          () => storedState<PiCoordinatorState>(a.dataDir, id)?.status === "failed",
          8_000,
        );
        await a.kill();
        const pp = hostRow(a.dataDir, "SELECT id FROM agents WHERE id = ?", `${jobId}-pp`);
        assert(pp, "the post-processor's disposal ended before the kill");
        a = await startA(a.dataDir);
        await endsAndLeavesNothing(a, [b, a], { id, jobId }, /failed 1 times/);
      },
    );

    await t.step("the coordinator moved to the host its batches wait on", async () => {
      await eventually("both hosts see each other", bothOnline, 15_000);
      const job = await batchesWaiting(a, b);
      // A copy leaves the job and its helpers to the original, which the move then takes along.
      const copy = await a.client.clone(job.id, "pi-b");
      const copied = await b.client.send(copy.id, { kind: "pi.summary", args: {} }) as PiSummary;
      assertEquals(copied.status, "failed");
      await b.client.dispose(copy.id);
      const running = await a.client.send(job.id, { kind: "pi.summary", args: {} }) as PiSummary;
      assertEquals(running.status, "running");
      assert((await batchesOf(b, job.jobId)).length > 0, "the original's batches still wait on pi-b");
      await a.client.dispatch(job.id, "pi-b");
      await endsAndLeavesNothing(b, [b, a], job, /interrupted by a move to pi-b/);
    });
  } finally {
    await stopAll();
  }
});

Deno.test("a Pi coordinator whose worker is replaced ends its job saying so, and disposes what it left", async () => {
  try {
    // One worker: the coordinator and the paglet that ends the worker share it.
    const host = await startHost({
      name: "pi-solo",
      args: [...FAST_MESH, "--workers", "1", "--module", KERNEL_FIXTURES],
      env: { ...FAST, PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000" },
    });
    await holdEveryCore(host);
    const { id } = await host.client.createAgent({ type: "examples.pi.coordinator" });
    const { jobId } = await host.client.send(id, {
      kind: "pi.start_async",
      args: { ...JOB, faults: { skipBatches: [], failBatches: [], failHosts: [] } },
    }) as PiStartReply;
    await eventually(`batches of ${jobId} wait for a core`, async () => {
      const status = await slotStatus(host.client);
      return (status.queue ?? []).some((q) => q.request.jobId.startsWith(`pi:${jobId}:`));
    }, 30_000);

    const { id: thrower } = await host.client.createAgent({ type: "kernel.thrower" });
    assertEquals(await host.client.send(thrower, { kind: "end-worker" }), { ok: true });
    await eventually("the worker replaced", async () => {
      const { events } = await host.client.events(0, 2000);
      return events.some((e) => e.kind === "worker-replaced");
    });
    await endsAndLeavesNothing(
      host,
      [host],
      { id, jobId },
      /^interrupted by a replacement of its worker \(stuck or crashed\)$/,
    );
  } finally {
    await stopAll();
  }
});

Deno.test("a batch created after the next instance of its coordinator disposed it disposes itself", async () => {
  let proxy: TcpProxy | null = null;
  try {
    const port = freePort();
    const startA = (dataDir?: string) =>
      startHost({ name: "pi-a", port, dataDir, args: FAST_MESH, env: FAST });
    let a = await startA();
    // pi-b's URL in the mesh is a proxy's, which holds the creations of batches there when told.
    const portB = freePort();
    proxy = new TcpProxy(`http://127.0.0.1:${portB}`);
    const b = await startHost({
      name: "pi-b",
      port: portB,
      args: [...FAST_MESH, "--peer", a.url, "--public-url", proxy.url],
      env: { ...FAST, PAGLETS_COMPUTE_BURST_LOAD_PER_CPU: "1000" },
    });
    await eventually(
      "both hosts see each other",
      async () => await seesAllOnline(a, NAMES) && await seesAllOnline(b, NAMES),
      15_000,
    );
    await holdEveryCore(b);
    proxy.hold((head) => head.startsWith("POST /v1/agents "));
    const { id } = await a.client.createAgent({ type: "examples.pi.coordinator" });
    const { jobId } = await a.client.send(id, { kind: "pi.start_async", args: JOB }) as PiStartReply;
    await eventually("a batch's creation on pi-b in flight", () => proxy!.held > 0, 30_000);
    await a.kill();
    // The journal names the batches whose creation is held (written before it was asked for).
    const journal = new HelperJournal(() => Promise.resolve(`${a.dataDir}/work/${id}`));
    const onB = (await journal.read()).filter((ref) => ref.host === proxy!.url);
    assert(onB.length >= proxy.held, `the journal names ${onB.length} batches on pi-b`);
    a = await startA(a.dataDir);
    const summary = await a.client.send(id, { kind: "pi.summary", args: {} }) as PiSummary;
    assertEquals(summary.status, "failed");
    // The next instance disposed every helper its former one named; pi-b had none of them yet.
    await eventually(
      "the journal names no helper left",
      async () => (await journal.read()).length === 0,
      20_000,
    );
    assertEquals(await batchesOf(b, jobId), []);

    await proxy.release();
    await eventually(`a batch of ${jobId} created on pi-b`, async () => {
      const { events } = await b.client.events(0, 1000);
      return events.some((e) => e.kind === "create" && String(e.agentId).startsWith(`${jobId}-b`));
    }, 20_000);
    await eventually(`nothing of ${jobId} left on pi-b`, () => nothingLeftOn(b, jobId), 20_000);
    await a.client.dispose(id);
  } finally {
    proxy?.close();
    await stopAll();
  }
});

/**
 * A compute job whose agent worker is replaced (it crashed, or another paglet in it was stuck) while
 * its step runs: the step's result could never reach the job again, so the step ends with its lease,
 * and the job, back from its stored state, asks for a slot again and runs its step under a lease of
 * its own. Never two steps, nor two leases, for one job; nothing left leased. A job that opted out of
 * running again fails, saying what interrupted it.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { eventsOf, KERNEL_FIXTURES } from "../kernel/helpers.ts";
import { GATE_FILE, STARTS_FILE } from "./fixtures/compute_jobs.ts";
import { COMPUTE_JOBS, computeHost, jobState, slotStatus } from "./helpers.ts";
import type { TestHost } from "../helpers/in_process.ts";
import { decodeCbor } from "../../agents/cbor.ts";

/** How many steps of the job started (each notes it in its work dir). */
async function starts(t: TestHost, id: string): Promise<number> {
  const text = await Deno.readTextFile(`${t.host.workDirs.pathOf(id)}/${STARTS_FILE}`).catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

/** The job's status in its stored state: where it comes back from when its worker is replaced. */
/** Opens the job's gate and waits for it to complete on its second attempt, its step run twice, nothing leased after. */
async function completesOnItsSecondAttempt(t: TestHost, id: string): Promise<void> {
  await Deno.writeTextFile(`${t.host.workDirs.pathOf(id)}/${GATE_FILE}`, "");
  const done = await eventually("the job completed", async () => {
    const state = await jobState(t.client, id);
    return state.computeStatus === "COMPLETED" && state;
  }, 20_000);
  assertEquals([done.computeAttempts, done.passed, await starts(t, id)], [2, 1, 2]);
  await eventually("nothing leased", async () => (await slotStatus(t.client)).host.activeLeases === 0);
}

async function storedStatus(t: TestHost, id: string): Promise<string | undefined> {
  const record = await t.host.store.get(id);
  return record ? decodeCbor<{ computeStatus: string }>(record.state).computeStatus : undefined;
}

/** The leases `id` holds, and whether a step runs under each. */
async function leasesOf(t: TestHost, id: string): Promise<{ leaseId: string; running: boolean }[]> {
  const { leases = [] } = await slotStatus(t.client, { includeLeases: true });
  return leases.filter((l) => l.agentId === id);
}

Deno.test("a job whose worker is replaced while its step runs: that step ends with its lease, and the job runs it again under a lease of its own", async () => {
  // One worker: the jobs and the paglet that ends the worker share it.
  await using t = await computeHost({
    name: "replaced",
    modules: [COMPUTE_JOBS, KERNEL_FIXTURES],
    workers: 1,
  });
  const { id } = await t.client.createAgent({ type: "test.gatedjob" });
  const { id: optOut } = await t.client.createAgent({
    type: "test.gatedjob",
    state: { restartRunningOnHostStartup: false },
  });
  // Their steps run, and their stored states say so (a job brought back from an older state, still
  // placing, would only ask for a slot).
  const [first] = await eventually("both steps run", async () => {
    const [mine, other] = [await leasesOf(t, id), await leasesOf(t, optOut)];
    const stored = [await storedStatus(t, id), await storedStatus(t, optOut)];
    return await starts(t, id) === 1 && await starts(t, optOut) === 1 && mine[0]?.running &&
      other[0]?.running && stored.every((status) => status === "RUNNING") && mine;
  }, 20_000);

  const { id: thrower } = await t.client.createAgent({ type: "kernel.thrower" });
  assertEquals(await t.client.send(thrower, { kind: "end-worker" }), { ok: true });
  await eventually(
    "the worker replaced",
    async () => (await eventsOf(t.client, "worker-replaced")).length === 1,
  );

  const failed = await eventually("the job that opted out failed", async () => {
    const state = await jobState(t.client, optOut);
    return state.computeStatus === "FAILED_FINAL" && state;
  }, 20_000);
  assertEquals(
    failed.computeError,
    "the compute step was interrupted by a replacement of its worker (stuck or crashed) " +
      "(restartRunningOnHostStartup is off)",
  );
  const [second] = await eventually("the job's step runs again, under a new lease", async () => {
    const mine = await leasesOf(t, id);
    return await starts(t, id) === 2 && mine.length === 1 && mine[0].running && mine;
  }, 20_000);
  assert(second.leaseId !== first.leaseId, "the first lease ended with its step");
  assertEquals(await leasesOf(t, optOut), [], "the job that failed holds no lease");

  await completesOnItsSecondAttempt(t, id);
});

Deno.test("a job whose worker is replaced as its step starts comes back running, before any checkpoint: with restartRunningOnHostStartup off it fails naming the replacement, else it runs its step again", async () => {
  for (const restart of [false, true]) {
    // One worker: the job ends it the moment its step has started (test.workerendingjob), sooner
    // than the host's next checkpoint could store what the job did before the step.
    await using t = await computeHost({ name: `replaced-at-start-${restart}`, workers: 1 });
    const { id } = await t.client.createAgent({
      type: "test.workerendingjob",
      state: { restartRunningOnHostStartup: restart },
    });
    await eventually(
      "the worker replaced",
      async () => (await eventsOf(t.client, "worker-replaced")).length === 1,
    );
    // Back from its stored state: RUNNING, stored before its step started; not PLACING, which would
    // ask for a slot and run the step again as if it had never started.
    const back = await eventually("the job back: failed, or its step running again", async () => {
      const state = await jobState(t.client, id);
      const again = await starts(t, id) === 2 && (await leasesOf(t, id))[0]?.running;
      return (state.computeStatus === "FAILED_FINAL" || again) && state;
    }, 20_000);
    if (!restart) {
      assertEquals(back.computeStatus, "FAILED_FINAL");
      assertEquals(
        back.computeError,
        "the compute step was interrupted by a replacement of its worker (stuck or crashed) " +
          "(restartRunningOnHostStartup is off)",
      );
      assertEquals([await starts(t, id), await leasesOf(t, id)], [1, []]);
      continue;
    }
    await completesOnItsSecondAttempt(t, id);
  }
});

/**
 * A compute job waiting for a slot on a host that cannot store it asleep (its disk full, on a tmpfs
 * the test mounts: root only). The host keeps it running, in a new instance with no wake-up: the job
 * waits for its grant awake and asks again (and tries to sleep again) on its schedule, never at once
 * after each failed sleep, which would be a loop of slot requests and store writes with no pause.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { canMount, fill, withSmallDisk } from "../helpers/small_disk.ts";
// The SDK before the fixtures that extend it (agents/compute_job.ts first meets an import cycle).
import "../../agents/mod.ts";
import { GATE_FILE, STARTS_FILE } from "./fixtures/compute_jobs.ts";
import { computeHost, CPUS, jobState, slotStatus } from "./helpers.ts";

Deno.test({
  name:
    "a job waiting for a slot whose host cannot store it asleep (a full disk) asks again on its schedule, not in a loop, and runs once the slot is free",
  ignore: !canMount,
  fn: () =>
    withSmallDisk(24, async (mount) => {
      const gates = await Deno.makeTempDir({ prefix: "paglets-test-gates-" });
      try {
        await using t = await computeHost({ name: "full", dataDir: `${mount}/data` });
        // A job holding every core, its step waiting for the test.
        const { id: holder } = await t.client.createAgent({
          type: "test.gatedjob",
          state: { cpuCores: CPUS.length },
        });
        // Its step under way, past its note of its start (a write it could not make on a full disk).
        const holderDir = t.host.workDirs.pathOf(holder);
        await eventually("the holder's step runs", async () => {
          const { leases = [] } = await slotStatus(t.client, { includeLeases: true });
          const started = await Deno.readTextFile(`${holderDir}/${STARTS_FILE}`).catch(() => "");
          return started !== "" && leases.some((l) => l.agentId === holder && l.running);
        }, 20_000);
        const startGate = `${gates}/start`;
        const { id } = await t.client.createAgent({
          type: "test.latejob",
          state: { cpuCores: CPUS.length, startGate, driverRetrySeconds: 1, driverRetryMaxSeconds: 1 },
        });
        const before = (await slotStatus(t.client)).counters.requests;

        // The disk full, the job asks for a slot (queued behind the holder) and cannot sleep.
        await fill(`${mount}/filler`);
        const since = Date.now();
        await Deno.writeTextFile(startGate, "");
        const asked = await eventually("the job asked for a slot 4 times", async () => {
          const requests = (await slotStatus(t.client)).counters.requests - before;
          return requests >= 4 && requests;
        }, 30_000);
        const elapsed = Date.now() - since;
        // Its tries 1 s apart at least, by its schedule (driverRetrySeconds): none at once after a
        // failed sleep.
        assert(asked <= 1 + elapsed / 1000, `${asked} slot requests in ${elapsed} ms`);
        assertEquals((await t.client.getAgent(id)).status, "active");
        assertEquals((await jobState(t.client, id)).computeStatus, "WAITING_FOR_SLOT");

        // Space again: the job sleeps at its next try, and the holder's end wakes it with its grant.
        await Deno.remove(`${mount}/filler`);
        await eventually("the job asleep", async () =>
          (await t.client.getAgent(id)).status === "inactive", 20_000);
        await Deno.writeTextFile(`${holderDir}/${GATE_FILE}`, "");
        const done = await eventually("the job completed", async () => {
          const state = await jobState(t.client, id);
          return state.computeStatus === "COMPLETED" && state;
        }, 20_000);
        assertEquals(done.computeAttempts, 1);
        await eventually("nothing leased", async () =>
          (await slotStatus(t.client)).host.activeLeases === 0);
      } finally {
        await Deno.remove(gates, { recursive: true });
      }
    }),
});

Deno.test({
  name: "a job whose host's disk is full as its step is to start runs its step all the same",
  ignore: !canMount,
  fn: () =>
    withSmallDisk(24, async (mount) => {
      const gates = await Deno.makeTempDir({ prefix: "paglets-test-gates-" });
      try {
        await using t = await computeHost({ name: "full", dataDir: `${mount}/data` });
        const startGate = `${gates}/start`;
        const { id } = await t.client.createAgent({ type: "test.latejob", state: { startGate } });
        // The disk full before the job asks for its slot: the state that says RUNNING cannot be stored.
        await fill(`${mount}/filler`);
        await Deno.writeTextFile(startGate, "");
        const done = await eventually("the job completed", async () => {
          const state = await jobState(t.client, id);
          return state.computeStatus === "COMPLETED" && state;
        }, 20_000);
        assertEquals([done.computeAttempts, done.computeError], [1, ""]);
        await eventually("nothing leased", async () => (await slotStatus(t.client)).host.activeLeases === 0);
      } finally {
        await Deno.remove(gates, { recursive: true });
      }
    }),
});

/**
 * A host killed (SIGKILL) the moment its jobs' steps have started, sooner than its next checkpoint:
 * the jobs come back from their stored states RUNNING, since a step starts only once the state that
 * says so is stored. A job that opted out of running again fails naming the restart; the other runs
 * its step again. Never PLACING, which would run the step again as if it had never started.
 */
import { assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
// The SDK before the fixtures that extend it (agents/compute_job.ts first meets an import cycle).
import "../../agents/mod.ts";
import { GATE_FILE, STARTS_FILE } from "./fixtures/compute_jobs.ts";
import { COMPUTE_JOBS, FAST } from "./helpers.ts";

interface GatedState {
  computeStatus: string;
  computeError: string;
  computeAttempts: number;
  passed: number;
}

function start(dataDir?: string): Promise<HostProcess> {
  return startHost({ name: "crash", dataDir, env: FAST, args: ["--workers", "1", "--module", COMPUTE_JOBS] });
}

/** How many steps of the job started (each notes it in its work dir). */
async function starts(host: HostProcess, id: string): Promise<number> {
  const text = await Deno.readTextFile(`${host.dataDir}/work/${id}/${STARTS_FILE}`).catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

async function stateOf(host: HostProcess, id: string): Promise<GatedState> {
  return (await host.client.getAgent(id)).state as unknown as GatedState;
}

Deno.test("a host killed as its jobs' steps start brings them back running: one that opted out fails naming the restart, the other runs its step again", async () => {
  try {
    const first = await start();
    const [optOut, keep] = await Promise.all(
      [false, true].map(async (restart) =>
        (await first.client.createAgent({
          type: "test.gatedjob",
          state: { restartRunningOnHostStartup: restart },
        })).id
      ),
    );
    // Killed as soon as both steps have noted their start (looked at every 2 ms).
    await eventually(
      "both steps started",
      async () => await starts(first, optOut) === 1 && await starts(first, keep) === 1,
      20_000,
      2,
    );
    await first.kill();

    const host = await start(first.dataDir);
    // Back: failed, or (from a state that knew of no step) running its step again.
    const failed = await eventually("the job that opted out back", async () => {
      const state = await stateOf(host, optOut);
      return (state.computeStatus === "FAILED_FINAL" || await starts(host, optOut) === 2) && state;
    }, 20_000);
    assertEquals(
      [failed.computeStatus, failed.computeError],
      [
        "FAILED_FINAL",
        "the compute step was interrupted by a host restart (restartRunningOnHostStartup is off)",
      ],
    );
    await eventually("the other job's step runs again", async () => await starts(host, keep) === 2, 20_000);
    await Deno.writeTextFile(`${host.dataDir}/work/${keep}/${GATE_FILE}`, "");
    const done = await eventually("the job completed", async () => {
      const state = await stateOf(host, keep);
      return state.computeStatus === "COMPLETED" && state;
    }, 20_000);
    assertEquals([done.computeAttempts, done.passed, await starts(host, optOut)], [2, 1, 1]);
  } finally {
    await stopAll();
  }
});

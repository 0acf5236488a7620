/**
 * A compute job's driver against a scheduler that does not answer (host processes, fixtures in
 * unanswered_slots.ts): it tries again a bounded number of times, then fails the job with the last
 * error and the attempts made, which `jobs ps` and a group's collector see; a failure that passes
 * within the bound costs the job nothing; the count survives a restart of the job's host.
 */
import { submitComputeJobGroup } from "../../agents/job_groups/submit.ts";
import { PagletError } from "../../agents/errors.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { SquareJob } from "./fixtures/group_jobs.ts";
import { clientLauncher, COMPUTE_JOBS, FAST, slotStatus, type SpinState } from "./helpers.ts";

const GROUP_JOBS = new URL("./fixtures/group_jobs.ts", import.meta.url).href;
/** Small bounds: three retries, 0.1 s apart at most. */
const QUICK = { driverRetryLimit: 3, driverRetrySeconds: 0.1, driverRetryMaxSeconds: 0.1 };

interface FlakyState extends SpinState {
  slotRequestsFailed: number;
  driverRetries: number;
  driverError: string;
}

function start(name: string, dataDir?: string): Promise<HostProcess> {
  return startHost({
    name,
    dataDir,
    env: FAST,
    args: ["--workers", "2", "--module", COMPUTE_JOBS, "--module", GROUP_JOBS],
  });
}

async function finished(host: HostProcess, id: string): Promise<FlakyState> {
  return await eventually(`job ${id} to finish`, async () => {
    const state = (await host.client.getAgent(id)).state as FlakyState;
    return (state.computeStatus === "COMPLETED" || state.computeStatus === "FAILED_FINAL") && state;
  }, 30_000);
}

Deno.test("a job whose scheduler never answers fails after driverRetryLimit retries; one answered at the third try completes", async () => {
  try {
    const host = await start("solo");
    const entry = ["--entry", host.url];
    const never = (await host.client.createAgent({
      type: "test.flakyslotjob",
      state: { slotFailures: -1, ...QUICK },
    })).id;
    const late = (await host.client.createAgent({
      type: "test.flakyslotjob",
      state: { slotFailures: 2, ...QUICK },
    })).id;

    const failed = await finished(host, never);
    assertEquals(failed.computeStatus, "FAILED_FINAL");
    assertEquals(
      failed.computeError,
      "compute job driver gave up after 4 attempts (driverRetryLimit 3): " +
        "[host_unreachable] compute-slots did not answer (4)",
    );
    assertEquals([failed.slotRequestsFailed, failed.driverRetries], [4, 3]);

    const done = await finished(host, late);
    assertEquals(done.computeStatus, "COMPLETED", done.computeError);
    // Two failed, the third got through, and the run of retries ended with it.
    assertEquals([done.slotRequestsFailed, done.driverRetries, done.driverError], [2, 0, ""]);

    const rows = jsonOf<{ agentId: string; computeError: string; driverRetries: number }[]>(
      await paglets(["jobs", "ps", "--agent", never, "--json", ...entry]),
    );
    assertEquals(rows.map((r) => [r.agentId, r.computeError, r.driverRetries]), [[
      never,
      failed.computeError,
      3,
    ]]);
    const table = await paglets(["jobs", "ps", "--agent", never, ...entry]);
    assert(/retries/.test(table.stdout) && /gave up after 4 attempts/.test(table.stdout), table.stdout);

    const { reply } = await host.client.request<{
      reply: { notifications: { title: string; text: string; jobId: string | null }[] };
    }>("POST", "/v1/services/user-info/recent", {});
    const said = reply.notifications.filter((n) => n.jobId === `compute-job-${never}`).map((n) => n.text);
    assertEquals(said, [
      "compute job driver tries again in 0.1 s (at most 3 times in a row): " +
      "[host_unreachable] compute-slots did not answer (1)",
    ]);

    const refused = await host.client.createAgent({
      type: "test.flakyslotjob",
      state: { slotFailures: 0, driverRetryLimit: -1 },
    }).then(() => null, (err) => err as PagletError);
    assertEquals(refused?.code, "invalid_state");
    assert(
      /driverRetryLimit: must be an integer >= 0: current value is -1/.test(refused!.message),
      refused?.message,
    );
  } finally {
    await stopAll();
  }
});

Deno.test("a group job whose scheduler never answers reaches its collector as a failure; its sibling a result", async () => {
  try {
    const host = await start("solo");
    const group = await submitComputeJobGroup(clientLauncher(host.client, host.url), SquareJob, [
      { jobKey: "never", n: 3, slotFailures: -1, allowHomeCompute: true, ...QUICK },
      { jobKey: "late", n: 4, slotFailures: 1, allowHomeCompute: true, ...QUICK },
    ]);
    const summary = await group.drain({ timeoutMs: 30_000 });
    assertEquals([summary.completedCount, summary.failedCount], [1, 1], JSON.stringify(summary));
    assertEquals((summary.results.late.result as { square: number }).square, 16);
    const failure = summary.failures.never;
    assertEquals(failure.stage, "compute");
    assertEquals(
      failure.error,
      "compute job driver gave up after 4 attempts (driverRetryLimit 3): " +
        "[host_unreachable] compute-slots did not answer (4)",
    );
  } finally {
    await stopAll();
  }
});

Deno.test("a job's run of retries goes on counting across a restart of its host", async () => {
  try {
    const first = await start("solo");
    // One retry allowed, after a pause no test waits out: only the restart makes the next attempt.
    const { id } = await first.client.createAgent({
      type: "test.flakyslotjob",
      state: { slotFailures: -1, driverRetryLimit: 1, driverRetrySeconds: 3600, driverRetryMaxSeconds: 3600 },
    });
    const waiting = await eventually("the job waiting for its first retry", async () => {
      const state = (await first.client.getAgent(id)).state as FlakyState;
      return state.driverRetries === 1 && state;
    }, 30_000);
    assertEquals(waiting.computeStatus, "PLACING");
    await first.stop();

    const again = await start("solo", first.dataDir);
    const failed = await finished(again, id);
    assertEquals(
      failed.computeError,
      "compute job driver gave up after 2 attempts (driverRetryLimit 1): " +
        "[host_unreachable] compute-slots did not answer (2)",
    );
    assertEquals(failed.slotRequestsFailed, 2);
  } finally {
    await stopAll();
  }
});

interface FlakyInputState extends FlakyState {
  prepareCalls: number;
  prepareRetries: number;
}

Deno.test("a prepareCompute that fails in a way that may pass asks for a slot again, at most driverRetryLimit times in a row; another error fails at once", async () => {
  try {
    const host = await start("inputs");
    const create = async (state: Record<string, unknown>) =>
      (await host.client.createAgent({ type: "test.flakyinputjob", state: { ...state, ...QUICK } })).id;
    const late = await create({ inputFailures: 2 });
    const never = await create({ inputFailures: -1 });
    const refused = await create({ inputFailures: -1, inputErrorCode: "invalid_request" });

    const done = await finished(host, late) as FlakyInputState;
    assertEquals(done.computeStatus, "COMPLETED", done.computeError);
    // Two failed, the third got its input: the run of retries is over.
    assertEquals([done.prepareCalls, done.prepareRetries, done.driverError], [3, 0, ""]);

    const failed = await finished(host, never) as FlakyInputState;
    assertEquals(failed.computeStatus, "FAILED_FINAL");
    assertEquals(
      failed.computeError,
      "prepareCompute gave up after 4 attempts (driverRetryLimit 3): " +
        "[host_unreachable] the input's host did not answer (4)",
    );
    assertEquals([failed.prepareCalls, failed.prepareRetries], [4, 3]);

    const once = await finished(host, refused) as FlakyInputState;
    assertEquals(
      once.computeError,
      "prepareCompute failed: the input's host did not answer (1)",
    );
    assertEquals(once.prepareCalls, 1);
    // Every lease went back.
    await eventually(
      "no lease left",
      async () => ((await slotStatus(host.client)).leases ?? []).length === 0,
    );
  } finally {
    await stopAll();
  }
});

/**
 * A group job's report to a collector whose host is down, with real host processes: it is tried
 * again a bounded number of times (`reportRetryLimit`), then given up where people look (the job's
 * state, `jobs ps`, a notification) and kept, so that removing the job sends it once more when the
 * collector's host is back.
 */
import type { GroupSummary } from "../../agents/job_groups/contract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { freePort, type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST } from "./helpers.ts";

const GROUP_JOBS = new URL("./fixtures/group_jobs.ts", import.meta.url).href;

function start(name: string, options: { port?: number; dataDir?: string; peer?: string } = {}) {
  return startHost({
    name,
    port: options.port,
    dataDir: options.dataDir,
    env: FAST,
    args: [
      "--workers",
      "2",
      "--gossip-interval-ms",
      "200",
      "--module",
      GROUP_JOBS,
      ...(options.peer ? ["--peer", options.peer] : []),
    ],
  });
}

interface ReportState {
  computeStatus: string;
  reportStatus: string;
  reportAttempts: number;
  reportRetries: number;
  reportNextTryAt: number;
  reportError: string;
  pendingReport: { kind: string } | null;
}

/**
 * A collector on `keeper`, whose host is then stopped, and a host `solo` (peer of keeper) for its
 * group's jobs.
 */
async function collectorDown(): Promise<{
  port: number;
  keeper: HostProcess;
  solo: HostProcess;
  collector: { id: string };
}> {
  const port = freePort();
  const keeper = await start("keeper", { port });
  const solo = await start("solo", { peer: keeper.url });
  const collector = await keeper.client.createAgent({
    type: "paglets.result_collector",
    state: { groupId: "far" },
  });
  await keeper.stop();
  return { port, keeper, solo, collector };
}

/** The state of a group job of `collectorDown()`'s collector, squaring 9 on solo. */
function farJob(collector: { id: string }, keeper: HostProcess, retries: Record<string, number>) {
  return {
    type: "test.squarejob",
    state: {
      n: 9,
      jobKey: "far-0001",
      groupId: "far",
      collectorAgentId: collector.id,
      collectorHostUrl: keeper.url,
      allowHomeCompute: true,
      excludedHostNames: ["keeper"],
      ...retries,
    },
  };
}

async function reportState(host: HostProcess, id: string): Promise<ReportState & { status: string }> {
  const record = await host.client.getAgent(id);
  return { ...record.state as unknown as ReportState, status: String(record.status) };
}

Deno.test("a group job whose collector's host stays down gives its report up after reportRetryLimit retries and keeps it; its removal sends it once the host is back", async () => {
  try {
    const down = await collectorDown();
    const { port, solo, collector } = down;
    let keeper = down.keeper;
    const { id } = await solo.client.createAgent(
      farJob(collector, keeper, { reportRetryLimit: 2, reportRetrySeconds: 0.1, reportRetryMaxSeconds: 0.1 }),
    );
    const gaveUp = await eventually("the report given up", async () => {
      const state = (await solo.client.getAgent(id)).state as unknown as ReportState;
      return state.reportStatus === "UNDELIVERABLE" && state;
    }, 30_000);
    assertEquals(gaveUp.computeStatus, "COMPLETED");
    assertEquals(gaveUp.reportAttempts, 3);
    assert(
      gaveUp.reportError.startsWith(
        "report gave up after 3 attempts (reportRetryLimit 2): [host_unreachable]",
      ),
      gaveUp.reportError,
    );
    assertEquals(gaveUp.pendingReport?.kind, "result", "the report is kept");

    const table = await paglets(["jobs", "ps", "--agent", id, "--entry", solo.url]);
    assert(table.stdout.includes("report gave up after 3 attempts"), table.stdout);
    const { reply } = await solo.client.request<{
      reply: { notifications: { severity: string; text: string; sourceAgentId: string }[] };
    }>("POST", "/v1/services/user-info/recent", {});
    const said = reply.notifications.filter((n) => n.sourceAgentId === id && n.severity === "error");
    assertEquals(said.length, 1, JSON.stringify(reply.notifications));
    assert(said[0].text.includes(gaveUp.reportError), said[0].text);
    assert(said[0].text.includes(`paglets agents rm ${id}`), said[0].text);

    // The collector's host is back: removing the job sends the report it kept, as it was.
    keeper = await start("keeper", { port, dataDir: keeper.dataDir, peer: solo.url });
    await solo.client.dispose(id);
    const summary = await eventually("the kept report at the collector", async () => {
      const s = await keeper.client.send(collector.id, { kind: "summary" }) as GroupSummary;
      return s.completedCount === 1 && s;
    }, 20_000);
    assertEquals((summary.results["far-0001"].result as { square: number }).square, 81);
  } finally {
    await stopAll();
  }
});

Deno.test("messages that wake a group job waiting to report again use up none of its retries: it gives up when its schedule ends", async () => {
  try {
    const { keeper, solo, collector } = await collectorDown();
    // One retry, 30 s after the first failure: the messages below all come before it.
    const { id } = await solo.client.createAgent(
      farJob(collector, keeper, { reportRetryLimit: 1, reportRetrySeconds: 30, reportRetryMaxSeconds: 30 }),
    );
    const first = await eventually("the first try failed, the job asleep until the next", async () => {
      const state = await reportState(solo, id);
      return state.reportAttempts === 1 && state.status === "inactive" && state;
    }, 30_000);
    assertEquals(first.reportStatus, "PENDING");
    // A chatty sender: each message wakes the job, which tries its report at once (an early try).
    for (let attempt = 2; attempt <= 4; attempt++) {
      await solo.client.send(id, { kind: "compute_status" });
      const state = await eventually(`early try ${attempt}`, async () => {
        const state = await reportState(solo, id);
        return state.reportAttempts === attempt &&
          (state.status === "inactive" || state.reportStatus !== "PENDING") && state;
      }, 30_000);
      assertEquals(state.reportStatus, "PENDING", `early try ${attempt} did not count: ${state.reportError}`);
      assertEquals(
        [state.reportRetries, state.reportNextTryAt],
        [1, first.reportNextTryAt],
        `early try ${attempt} did not move the next try on schedule`,
      );
    }
    const gaveUp = await eventually("the report given up when its schedule ended", async () => {
      const state = await reportState(solo, id);
      return state.reportStatus === "UNDELIVERABLE" && state;
    }, 60_000);
    assertEquals(gaveUp.reportAttempts, 5);
    assert(
      gaveUp.reportError.startsWith(
        "report gave up after 2 attempts (reportRetryLimit 1): [host_unreachable]",
      ),
      gaveUp.reportError,
    );
  } finally {
    await stopAll();
  }
});

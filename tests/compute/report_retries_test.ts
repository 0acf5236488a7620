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
import { canMount, fill, withSmallDisk } from "../helpers/small_disk.ts";

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

/**
 * A listener at `port` (where a stopped host was) that holds each request carrying a message to
 * `agentId` unanswered until {@link close}, and closes every other connection at once.
 */
function holdMessagesTo(port: number, agentId: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const open = new Set<Deno.Conn>();
  let held = 0;
  const take = async (conn: Deno.Conn) => {
    open.add(conn);
    const head = new Uint8Array(16 * 1024);
    const n = await conn.read(head).catch(() => null);
    if (n && new TextDecoder().decode(head.subarray(0, n)).includes(`/v1/agents/${agentId}/messages`)) held++;
    else conn.close();
  };
  void (async () => {
    for await (const conn of listener) void take(conn).catch(() => {});
  })().catch(() => {/* closed */});
  return {
    held: () => held,
    close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
    },
  };
}

Deno.test({
  name:
    "a group job whose host cannot store it asleep until its next report try (a full disk) keeps to its schedule, and its report arrives once the collector's host is back",
  ignore: !canMount,
  fn: () =>
    withSmallDisk(24, async (mount) => {
      try {
        const port = freePort();
        let keeper = await start("keeper", { port });
        const collector = await keeper.client.createAgent({
          type: "paglets.result_collector",
          state: { groupId: "far" },
        });
        await keeper.stop();
        const hole = holdMessagesTo(port, collector.id);
        const solo = await start("solo", { peer: keeper.url, dataDir: `${mount}/data` });
        const { id } = await solo.client.createAgent(farJob(collector, keeper, {
          reportTimeoutSeconds: 120,
          reportRetrySeconds: 1,
          reportRetryMaxSeconds: 1,
          reportRetryLimit: 1000,
        }));
        // The report's first try under way: the disk fills, then the try fails. The job cannot be
        // stored asleep until its next try: its host keeps it running (a new instance, no wake-up).
        await eventually("the report's first try under way", () => hole.held() === 1, 30_000);
        await fill(`${mount}/filler`);
        hole.close();
        const state = await eventually("the job, awake, trying again", async () => {
          const state = await reportState(solo, id);
          return state.status === "active" && state.reportAttempts >= 4 && state;
        }, 30_000);
        // Every try on its schedule (the one under way, if any, not counted yet), none at once after
        // each failed deactivation.
        assert(
          state.reportAttempts - state.reportRetries <= 2,
          `${state.reportAttempts} tries, ${state.reportRetries} of them retries on schedule`,
        );

        keeper = await start("keeper", { port, dataDir: keeper.dataDir, peer: solo.url });
        const summary = await eventually("the report at the collector", async () => {
          const s = await keeper.client.send(collector.id, { kind: "summary" }) as GroupSummary;
          return s.completedCount === 1 && s;
        }, 30_000);
        assertEquals((summary.results["far-0001"].result as { square: number }).square, 81);
      } finally {
        await stopAll();
      }
    }),
});

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
  reportError: string;
  pendingReport: { kind: string } | null;
}

Deno.test("a group job whose collector's host stays down gives its report up after reportRetryLimit retries and keeps it; its removal sends it once the host is back", async () => {
  try {
    const port = freePort();
    let keeper: HostProcess = await start("keeper", { port });
    const solo = await start("solo", { peer: keeper.url });
    const collector = await keeper.client.createAgent({
      type: "paglets.result_collector",
      state: { groupId: "far" },
    });
    await keeper.stop();

    const { id } = await solo.client.createAgent({
      type: "test.squarejob",
      state: {
        n: 9,
        jobKey: "far-0001",
        groupId: "far",
        collectorAgentId: collector.id,
        collectorHostUrl: keeper.url,
        allowHomeCompute: true,
        excludedHostNames: ["keeper"],
        reportRetryLimit: 2,
        reportRetrySeconds: 0.1,
        reportRetryMaxSeconds: 0.1,
      },
    });
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

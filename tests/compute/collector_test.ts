/**
 * The collector of a job group on in-process hosts: how it books reports, and a complete collector
 * that should go home while its home host is offline (timed wake-ups, then the move home).
 */
import type { GroupSummary } from "../../agents/job_groups/contract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { computeHost } from "./helpers.ts";

interface CollectorRecord {
  status: string;
  host: string;
  policy: { activateAt: number | null } | null;
  state: { status: string; nextHomeCheckAt: number; returnHomeError: string };
}

Deno.test("a complete collector waits for its offline home with timed wake-ups and then goes home", async () => {
  const port = freePort();
  const homeDir = await Deno.makeTempDir({ prefix: "paglets-test-home-" });
  let home = await computeHost({ name: "home", port, dataDir: homeDir });
  await using far = await computeHost({ name: "far", peers: [home.host.url] });
  try {
    await eventually("far to see home online", () => far.host.remote!.isOnline("home"), 10_000);
    const { id } = await far.client.createAgent({
      type: "paglets.result_collector",
      state: {
        groupId: "g-home",
        homeHostName: "home",
        homeHostUrl: home.host.url,
        returnHomeWhenComplete: true,
        homeCheckSeconds: 0.4,
      },
    });
    await far.client.send(id, { kind: "register_jobs", args: { jobs: [{ jobKey: "k1" }] } });
    await home.host.stop();
    await eventually("far to see home offline", () => !far.host.remote!.isOnline("home"), 10_000);

    const reply = await far.client.send(id, {
      kind: "job_result",
      args: { jobKey: "k1", reportId: "r1", result: 7 },
    });
    assertEquals((reply as { complete: boolean }).complete, true);
    const asleep = await eventually("the collector asleep, waiting for home", async () => {
      const r = await far.client.getAgent(id) as unknown as CollectorRecord;
      return r.status === "inactive" && r.state.status === "WAITING_FOR_HOME" && r;
    }, 10_000);
    assert(asleep.policy?.activateAt, "it sleeps with a wake-up time");
    assert(asleep.state.returnHomeError.includes("offline"), asleep.state.returnHomeError);
    await eventually("a timed wake-up that checked again", async () => {
      const r = await far.client.getAgent(id) as unknown as CollectorRecord;
      return r.state.nextHomeCheckAt > asleep.state.nextHomeCheckAt;
    }, 10_000);

    home = await computeHost({ name: "home", port, dataDir: homeDir, peers: [far.host.url] });
    const back = await eventually("the collector at home, complete", async () => {
      const r = await home.client.getAgent(id).catch(() => null) as unknown as CollectorRecord | null;
      return r?.state.status === "COMPLETE" && r;
    }, 20_000);
    assertEquals(back.state.returnHomeError, "");
    const summary = await home.client.send(id, { kind: "summary" }) as {
      collector: { hostName: string };
      results: { k1: { result: number } };
    };
    assertEquals(summary.collector.hostName, "home");
    assertEquals(summary.results.k1.result, 7);
  } finally {
    await home.host.stop().catch(() => {});
    await Deno.remove(homeDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a collector books first reports, adds unknown keys, and reopens for jobs registered late", async () => {
  await using t = await computeHost({ name: "solo" });
  const { id } = await t.client.createAgent({ type: "paglets.result_collector", state: { groupId: "g" } });
  const send = (kind: string, args: Record<string, unknown> = {}) => t.client.send(id, { kind, args });
  const summary = async () => await send("summary") as GroupSummary;
  await send("register_jobs", { jobs: [{ jobKey: "a", metadata: { shard: 1 } }] });
  await send("job_result", { jobKey: "a", reportId: "ra", result: 1 });
  let s = await summary();
  assertEquals([s.status, s.complete], ["COMPLETE", true]);
  assert(s.completedAt > 0);

  await send("register_jobs", { jobs: [{ jobKey: "b" }, { jobKey: "a", agentId: "ag_x" }] });
  s = await summary();
  assertEquals([s.status, s.pendingJobs], ["ACTIVE", ["b"]]);
  assertEquals(s.expectedJobs.a.agentId, "ag_x");
  assertEquals(s.expectedJobs.a.metadata, { shard: 1 }, "a merge keeps what was registered");

  await send("job_failure", { jobKey: "c", reportId: "rc", error: "made by hand" });
  await send("job_result", { jobKey: "b", reportId: "rb", result: 2 });
  s = await summary();
  assertEquals([s.status, s.expectedCount, s.completedCount, s.failedCount], ["COMPLETE", 3, 2, 1]);
  assertEquals(s.failures.c.error, "made by hand");
});

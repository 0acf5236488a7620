/**
 * A complete collector that should go home while its home host is offline: it sleeps with timed
 * wake-ups, checking again each time, and moves home once the host is back.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { computeHost } from "./helpers.ts";

interface Record {
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
      const r = await far.client.getAgent(id) as unknown as Record;
      return r.status === "inactive" && r.state.status === "WAITING_FOR_HOME" && r;
    }, 10_000);
    assert(asleep.policy?.activateAt, "it sleeps with a wake-up time");
    assert(asleep.state.returnHomeError.includes("offline"), asleep.state.returnHomeError);
    await eventually("a timed wake-up that checked again", async () => {
      const r = await far.client.getAgent(id) as unknown as Record;
      return r.state.nextHomeCheckAt > asleep.state.nextHomeCheckAt;
    }, 10_000);

    home = await computeHost({ name: "home", port, dataDir: homeDir, peers: [far.host.url] });
    const back = await eventually("the collector at home, complete", async () => {
      const r = await home.client.getAgent(id).catch(() => null) as unknown as Record | null;
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

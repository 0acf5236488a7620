/**
 * Job groups with a collector across real host processes: a 20-job group spread over a 3-host mesh,
 * failures, duplicates and file results, `paglets jobs groups`, and a collector whose host is
 * stopped while its jobs run.
 */
import type { AgentRef } from "../../agents/context.ts";
import type { GroupSummary } from "../../agents/job_groups/contract.ts";
import { submitComputeJobGroup } from "../../agents/job_groups/submit.ts";
import { SquareJob } from "./fixtures/group_jobs.ts";
import type { HostClient } from "../../host/client.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import {
  freePort,
  type HostProcess,
  startHost,
  type StartOptions,
  stopAll,
} from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { clientLauncher, FAST, slotStatus } from "./helpers.ts";

const GROUP_JOBS = new URL("./fixtures/group_jobs.ts", import.meta.url).href;
/** Reports retried quickly, so a restarted collector hears from its jobs within seconds. */
const QUICK_RETRY = { reportRetrySeconds: 0.3, reportRetryMaxSeconds: 1 };

function start(name: string, options: Partial<StartOptions> = {}): Promise<HostProcess> {
  return startHost({
    ...options,
    name,
    env: { ...FAST, ...options.env },
    args: ["--workers", "2", "--gossip-interval-ms", "200", "--module", GROUP_JOBS, ...(options.args ?? [])],
  });
}

async function meshed(hosts: HostProcess[]): Promise<void> {
  for (const a of hosts) {
    await eventually(`${a.name} to see ${hosts.length} hosts online`, async () => {
      const { hosts: seen } = await a.client.request<{ hosts: { online: boolean }[] }>(
        "GET",
        "/v1/mesh/hosts",
      );
      return seen.filter((h) => h.online).length === hosts.length;
    }, 20_000);
  }
}

interface Submitted {
  groupId: string;
  collector: AgentRef;
  jobs: { jobKey: string; agentId: string; host: string }[];
  creationErrors: unknown[];
}

async function submit(
  client: HostClient,
  type: string,
  states: Record<string, unknown>[],
  options: Record<string, unknown> = {},
): Promise<Submitted> {
  const { id } = await client.createAgent({ type: "test.group_submitter" });
  return await client.send(id, { kind: "submit", args: { type, states, options } }, {
    timeoutMs: 60_000,
  }) as Submitted;
}

/** The collector's summary once every job has reported (on a timeout, the last one says what is missing). */
async function drained(
  client: HostClient,
  collector: AgentRef,
  timeoutMs = 90_000,
  hosts: HostClient[] = [],
): Promise<GroupSummary> {
  let last: GroupSummary | null = null;
  try {
    return await eventually(
      "the group to complete",
      async () => {
        last = await client.send(collector.id, { kind: "drain" }).catch(() => null) as GroupSummary | null;
        return last?.complete && last;
      },
      timeoutMs,
      200,
    );
  } catch (err) {
    const { results: _results, ...rest } = last ?? { results: {} };
    // Where the missing jobs are: each host's compute-slots leases and queue.
    const slotsNow = await Promise.all(hosts.map((h) => slotStatus(h).catch((e) => String(e))));
    // And the agents of the jobs that did not report, as each host has them.
    const pending = (last as GroupSummary | null)?.pendingJobs ?? [];
    const ids = pending.map((key) => (last as GroupSummary).expectedJobs[key]?.agentId).filter(Boolean);
    const agents = await Promise.all(
      ids.flatMap((id) => hosts.map((h) => h.getAgent(id!).catch((e) => `${id}: ${String(e)}`))),
    );
    throw new Error(
      `${(err as Error).message}; last summary: ${JSON.stringify(rest)}; compute-slots: ${
        JSON.stringify(slotsNow)
      }; agents of the missing jobs: ${JSON.stringify(agents)}`,
    );
  }
}

Deno.test("a group of jobs runs across a 3-host mesh and its collector gets every report once", async (t) => {
  try {
    const alpha = await start("alpha");
    const beta = await start("beta", { args: ["--peer", alpha.url] });
    const gamma = await start("gamma", { args: ["--peer", alpha.url] });
    await meshed([alpha, beta, gamma]);

    await t.step(
      "20 jobs: drain returns 20 results, computed away from home; jobs groups agrees",
      async () => {
        const states = Array.from({ length: 20 }, (_, i) => ({ n: i + 1, ...QUICK_RETRY }));
        const group = await submit(alpha.client, "test.squarejob", states);
        assertEquals(group.jobs.length, 20);
        assertEquals(group.collector.host, alpha.url);
        const hosts = [alpha, beta, gamma].map((h) => h.client);
        const summary = await drained(alpha.client, group.collector, 90_000, hosts);
        assertEquals(summary.completedCount, 20, JSON.stringify(summary.failures));
        assertEquals(summary.failedCount, 0);
        assertEquals(summary.pendingJobs, []);
        assertEquals(summary.duplicateCount, 0);
        const squares = Object.values(summary.results).map((r) => (r.result as { square: number }).square)
          .sort((a, b) => a - b);
        assertEquals(squares, Array.from({ length: 20 }, (_, i) => (i + 1) ** 2));
        const places = new Set(
          Object.values(summary.results).map((r) => (r.result as { computedOn: string }).computedOn),
        );
        assert(!places.has("alpha"), `jobs do not compute at home by default: ${[...places]}`);
        assertEquals(summary.status, "COMPLETE");
        assertEquals(summary.submissionStatus, "SUBMITTED", "the submitter said it had ended");
        const { reply: recent } = await alpha.client.request<{
          reply: { notifications: { title: string; jobId: string | null; text: string }[] };
        }>("POST", "/v1/services/user-info/recent", {});
        const done = recent.notifications.find((n) =>
          n.title === "compute-group.done" && n.jobId === group.groupId
        );
        assert(done, "completion notified user-info on the home host");
        assert(done.text.includes("20 results"), done.text);
        await eventually("every job gone after its report was accepted", async () => {
          const left = await Promise.all(
            [alpha, beta, gamma].map((h) => h.client.listAgents({ type: "test.squarejob" })),
          );
          return left.every((l) => l.agents.length === 0);
        });

        const listed = jsonOf<GroupSummary[]>(
          await paglets(["jobs", "groups", "--entry", alpha.url, "--json"]),
        );
        const row = listed.find((g) => g.groupId === group.groupId);
        assert(row, `jobs groups lists ${group.groupId}`);
        assertEquals([row.expectedCount, row.completedCount, row.failedCount, row.pendingCount], [
          20,
          20,
          0,
          0,
        ]);
        assertEquals(row.collector.hostName, "alpha");
        const one = jsonOf<GroupSummary[]>(
          await paglets(["jobs", "groups", "--entry", beta.url, "--group", group.groupId, "--json"]),
        );
        assertEquals(one.map((g) => g.groupId), [group.groupId], "found from another host, filtered by id");
      },
    );

    await t.step(
      "jobs history, queue, why, top, status and ps --all-hosts ask every online host",
      async () => {
        const history = jsonOf<{ host: string; ok: boolean; view: { jobId: string }[] }[]>(
          await paglets(["jobs", "history", "--all-hosts", "--json", "--limit", "0", "--entry", alpha.url]),
        );
        assertEquals(history.map((h) => h.host).sort(), ["alpha", "beta", "gamma"]);
        const busy = history.filter((h) => h.view.length > 0).map((h) => h.host).sort();
        assertEquals(busy, ["beta", "gamma"], "the 20 jobs computed away from home");
        for (const view of ["queue", "why", "top", "status", "ps"]) {
          const each = jsonOf<{ host: string; ok: boolean }[]>(
            await paglets(["jobs", view, "--all-hosts", "--json", "--entry", alpha.url]),
          );
          assertEquals(each.map((h) => [h.host, h.ok]).sort(), [["alpha", true], ["beta", true], [
            "gamma",
            true,
          ]], view);
          assert(each.every((h) => "url" in h && "view" in h), `${view}: {host, url, ok, view} per host`);
        }
        const table = await paglets(["jobs", "history", "--all-hosts", "--entry", alpha.url]);
        assertEquals(table.code, 0, table.stderr);
        assert(/beta/.test(table.stdout) && /gamma/.test(table.stdout), table.stdout);
      },
    );

    await t.step(
      "a job that throws or cannot be created ends as a failure; a second report is kept apart",
      async () => {
        const group = await submit(alpha.client, "test.squarejob", [
          { n: 2, ...QUICK_RETRY },
          { n: 3, failOnPurpose: true, ...QUICK_RETRY },
          { n: 4, cpuCores: 0 },
        ], { groupId: "mixed" });
        assertEquals(group.creationErrors.length, 1, "a job with a bad estimate is not created");
        const summary = await drained(alpha.client, group.collector);
        assertEquals(Object.keys(summary.results), ["mixed-0001"]);
        assertEquals(Object.keys(summary.failures).sort(), ["mixed-0002", "mixed-0003"]);
        const failure = summary.failures["mixed-0002"];
        assertEquals(failure.stage, "compute");
        assert(failure.error?.includes("fails on purpose"), failure.error);
        assertEquals(summary.failures["mixed-0003"].stage, "create");
        assert(
          summary.failures["mixed-0003"].error?.includes("cpuCores"),
          summary.failures["mixed-0003"].error,
        );

        const duplicate = {
          jobKey: "mixed-0001",
          reportId: "by-hand-1",
          result: { n: 2, square: 5 },
        };
        const reply = await alpha.client.send(group.collector.id, { kind: "job_result", args: duplicate });
        assertEquals(reply, { accepted: true, duplicate: true, alreadyRecorded: false, complete: true });
        const again = await alpha.client.send(group.collector.id, { kind: "job_result", args: duplicate });
        assertEquals(
          (again as { alreadyRecorded: boolean }).alreadyRecorded,
          true,
          "a retried report lands once",
        );
        const after = await alpha.client.send(group.collector.id, { kind: "summary" }) as GroupSummary;
        assertEquals(
          (after.results["mixed-0001"].result as { square: number }).square,
          4,
          "the first report stands",
        );
        assertEquals(after.duplicateReports.length, 1);
        assertEquals(after.duplicateReports[0].report.reportId, "by-hand-1");
      },
    );

    await t.step(
      "a result that is not plain data fails its own job; the collector keeps answering",
      async () => {
        const group = await submit(alpha.client, "test.squarejob", [
          { n: 2, ...QUICK_RETRY },
          { n: 3, badResult: "nan-payload", ...QUICK_RETRY },
          { n: 4, badResult: "throw-payload", ...QUICK_RETRY },
          { n: 5, badResult: "nan-step", ...QUICK_RETRY },
          { n: 6, ...QUICK_RETRY },
        ], { groupId: "unplain" });
        const hosts = [alpha, beta, gamma].map((h) => h.client);
        const summary = await drained(alpha.client, group.collector, 90_000, hosts);
        assertEquals(Object.keys(summary.results).sort(), ["unplain-0001", "unplain-0005"]);
        const failures = summary.failures;
        assertEquals(
          ["unplain-0002", "unplain-0003", "unplain-0004"].map((k) => failures[k]?.stage),
          ["report", "result", "compute"],
        );
        assert(
          failures["unplain-0002"].error?.includes("not plain data at $.square"),
          failures["unplain-0002"].error,
        );
        assert(
          failures["unplain-0003"].error?.includes("no payload on purpose"),
          failures["unplain-0003"].error,
        );
        assert(
          failures["unplain-0004"].error?.includes("not plain data at $.square"),
          failures["unplain-0004"].error,
        );
        // A report sent by hand with NaN in it is refused, and the collector is not poisoned by it.
        const { id } = await alpha.client.createAgent({ type: "test.group_submitter" });
        const byHand = await alpha.client.send(id, {
          kind: "report-nan",
          args: { collector: group.collector, jobKey: "unplain-0006" },
        });
        assertEquals(byHand, { refused: "invalid_request" });
        const after = await alpha.client.send(group.collector.id, { kind: "summary" }) as GroupSummary;
        assertEquals([after.completedCount, after.failedCount, after.expectedCount], [2, 3, 5]);
        await eventually("no job of the group is left behind", async () => {
          const left = await Promise.all(hosts.map((h) => h.listAgents({ type: "test.squarejob" })));
          return left.every((l) => l.agents.length === 0);
        });

        // A job whose report gave up (its "collector" does not take reports) says why in jobs ps.
        const stray = await alpha.client.createAgent({
          type: "test.squarejob",
          state: {
            n: 7,
            jobKey: "stray",
            collectorAgentId: id,
            collectorHostUrl: alpha.url,
            allowHomeCompute: true,
          },
        });
        type Row = { host: string; url: string; view: { agentId: string; reportError: string }[] };
        const row = await eventually("the stray job's report gave up", async () => {
          const each = jsonOf<Row[]>(
            await paglets(["jobs", "ps", "--all-hosts", "--json", "--entry", alpha.url]),
          );
          return each.flatMap((h) => h.view.map((j) => ({ ...j, url: h.url })))
            .find((j) => j.agentId === stray.id && j.reportError);
        });
        assert(row.reportError.includes("not_handled"), row.reportError);
        const table = await paglets(["jobs", "ps", "--all-hosts", "--agent", stray.id, "--entry", alpha.url]);
        assert(table.stdout.includes("report gave up"), table.stdout);
        await [alpha, beta, gamma].find((h) => h.url === row.url)!.client.dispose(stray.id);
      },
    );

    await t.step(
      "a launcher outside any paglet submits a group and drains it through the handle",
      async () => {
        // What a script's mesh handle does: create and send through the entry host's HTTP API.
        const launcher = clientLauncher(alpha.client, alpha.url);
        const states = [1, 2, 3, 4].map((n) => ({ n, ...QUICK_RETRY }));
        const group = await submitComputeJobGroup(launcher, SquareJob, states, { groupId: "scripted" });
        assertEquals(group.jobs.map((j) => j.jobKey), [
          "scripted-0001",
          "scripted-0002",
          "scripted-0003",
          "scripted-0004",
        ]);
        const summary = await group.drain({ timeoutMs: 60_000 });
        assertEquals(summary.completedCount, 4);
        assertEquals(summary.home.hostUrl, alpha.url);
        assertEquals((await group.summary()).completedCount, 4);

        // A collector removed meanwhile: drain gives up saying so, not that jobs are pending.
        await alpha.client.dispose(group.collector.id);
        const error = await group.drain({ timeoutMs: 500 }).then(() => null, (err) => err as Error);
        assert(error?.message.includes("did not answer: [agent_not_found]"), error?.message);
      },
    );

    await t.step("a file result is uploaded to the collector's host and reported once", async () => {
      const group = await submit(alpha.client, "test.filejob", [{ text: "forty-two", ...QUICK_RETRY }]);
      const summary = await drained(alpha.client, group.collector);
      const result = Object.values(summary.results)[0].result as {
        bytes: number;
        artifact: { hostUrl: string; id: string; name: string; size: number };
      };
      assertEquals(result.bytes, 9);
      assertEquals(result.artifact.hostUrl, alpha.url);
      assertEquals(result.artifact.name, "result.txt");
      assertEquals(summary.duplicateCount, 0, "the default success hook sent nothing more");
      const body = await alpha.client.fetch("GET", `/v1/artifacts/${result.artifact.id}`);
      assertEquals(await body.text(), "forty-two");
    });

    await t.step("--all-hosts names the members it could not ask", async () => {
      await gamma.stop();
      await eventually("alpha to list gamma as left", async () => {
        const { hosts } = await alpha.client.request<{ hosts: { name: string; state: string }[] }>(
          "GET",
          "/v1/mesh/hosts",
        );
        return hosts.some((h) => h.name === "gamma" && h.state === "left");
      }, 20_000);
      const run = await paglets(["jobs", "ps", "--all-hosts", "--json", "--entry", alpha.url]);
      assertEquals(jsonOf<{ host: string }[]>(run).map((h) => h.host).sort(), ["alpha", "beta"]);
      assert(run.stderr.includes("note: not asked, not online: gamma (left)"), run.stderr);
    });
  } finally {
    await stopAll();
  }
});

Deno.test("a collector whose host stops while its jobs run gets every result exactly once after it restarts", async () => {
  try {
    const port = freePort();
    const dataDir = await Deno.makeTempDir({ prefix: "paglets-test-collector-" });
    let alpha = await start("alpha", { port, dataDir });
    const beta = await start("beta", { args: ["--peer", alpha.url] });
    const gamma = await start("gamma", { args: ["--peer", alpha.url] });
    await meshed([alpha, beta, gamma]);
    const states = Array.from({ length: 6 }, (_, i) => ({ n: i + 1, stepMs: 1500, ...QUICK_RETRY }));
    const group = await submit(alpha.client, "test.squarejob", states);
    // Every job has left alpha (placed on beta or gamma) before alpha stops.
    await eventually("every job placed away from home", async () => {
      const { agents } = await alpha.client.request<{ agents: { type: string }[] }>("GET", "/v1/agents");
      return agents.every((a) => a.type !== "test.squarejob");
    }, 30_000);
    await alpha.stop();
    // The jobs finish while the collector is away, fail to report and keep their reports.
    const away = [beta, gamma];
    await eventually(
      "every job to have tried to report",
      async () => {
        const tried = await Promise.all(group.jobs.map(async (job) => {
          for (const h of away) {
            const record = await h.client.getAgent(job.agentId).catch(() => null);
            const state = record && "state" in record ? record.state as Record<string, unknown> : null;
            if (state) return state.reportStatus === "PENDING" && Number(state.reportAttempts) >= 1;
          }
          return false;
        }));
        return tried.every(Boolean);
      },
      60_000,
      200,
    );
    alpha = await start("alpha", { port, dataDir, args: ["--peer", beta.url] });
    const summary = await drained(alpha.client, group.collector);
    assertEquals(summary.completedCount, 6, JSON.stringify(summary.failures));
    assertEquals(summary.duplicateCount, 0);
    const ns = Object.values(summary.results).map((r) => (r.result as { n: number }).n).sort();
    assertEquals(ns, [1, 2, 3, 4, 5, 6]);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  } finally {
    await stopAll();
  }
});

Deno.test("paglets run submits a 20-job group from a script whose code only the entry host had", async () => {
  try {
    const env = FAST;
    const h1 = await startHost({ name: "h1", env, args: ["--gossip-interval-ms", "200"] });
    const h2 = await startHost({ name: "h2", env, args: ["--gossip-interval-ms", "200", "--peer", h1.url] });
    const h3 = await startHost({ name: "h3", env, args: ["--gossip-interval-ms", "200", "--peer", h1.url] });
    await meshed([h1, h2, h3]);
    const script = new URL("../../examples/scripts/job_group.ts", import.meta.url).pathname;
    const run = await paglets(["run", script, "--entry", h1.url, "--", "20"]);
    if (run.code !== 0) {
      // What the group was waiting for: its summary on the entry host, and every host's leases and queue.
      const groups = await paglets(["jobs", "groups", "--entry", h1.url, "--json"]);
      const slotsNow = await Promise.all(
        [h1, h2, h3].map((h) => slotStatus(h.client).catch((e) => String(e))),
      );
      // Grants and redirects that did not reach their job, and where each job stands.
      const failedDeliveries = await Promise.all([h1, h2, h3].map(async (h) => {
        const { events } = await h.client.events(0, 2000).catch(() => ({ events: [] }));
        return [h.name, events.filter((e) => e.kind === "compute-slot-delivery-failed")];
      }));
      const ps = await paglets(["jobs", "ps", "--all-hosts", "--entry", h1.url, "--json"]);
      assertEquals(
        run.code,
        0,
        `${run.stderr}\ngroups: ${groups.stdout}${groups.stderr}\ncompute-slots: ${
          JSON.stringify(slotsNow)
        }\ndelivery failures: ${JSON.stringify(failedDeliveries)}\njobs: ${ps.stdout}${ps.stderr}`,
      );
    }
    const out = JSON.parse(run.stdout.trim().split("\n").pop()!) as {
      groupId: string;
      results: number;
      hosts: string[];
    };
    assertEquals(out.results, 20);
    assert(out.hosts.length > 0 && out.hosts.every((h) => h === "h2" || h === "h3"), `ran on ${out.hosts}`);
    const listed = jsonOf<GroupSummary[]>(
      await paglets(["jobs", "groups", "--entry", h2.url, "--group", out.groupId, "--json"]),
    );
    assertEquals(listed.map((g) => [g.completedCount, g.failedCount, g.pendingCount]), [[20, 0, 0]]);
  } finally {
    await stopAll();
  }
});

/**
 * The collector of a job group on in-process hosts: how it books reports, and a complete collector
 * that should go home while its home host is offline (timed wake-ups, then the move home).
 */
import type { GroupSummary } from "../../agents/job_groups/contract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { clientLauncher, COMPUTE_JOBS, computeHost, CPUS, createSpinJobs, slotStatus } from "./helpers.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { type GroupLauncher, submitComputeJobGroup } from "../../agents/job_groups/submit.ts";
import { HostClient } from "../../host/client.ts";
import { SquareJob } from "./fixtures/group_jobs.ts";

const GROUP_JOBS = new URL("./fixtures/group_jobs.ts", import.meta.url).href;

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

Deno.test("a complete collector sleeps after a quiet spell, wakes for a message, and is removed once its retention is over", async () => {
  await using t = await computeHost({ name: "solo" });
  const { id } = await t.client.createAgent({
    type: "paglets.result_collector",
    state: { groupId: "g-rest", restAfterSeconds: 0.3, retentionSeconds: 8 },
  });
  await t.client.send(id, { kind: "register_jobs", args: { jobs: [{ jobKey: "a" }] } });
  await t.client.send(id, { kind: "job_result", args: { jobKey: "a", reportId: "ra", result: 1 } });
  const asleep = await eventually("the complete collector asleep", async () => {
    const r = await t.client.getAgent(id) as unknown as CollectorRecord & { state: { completedAt: number } };
    return r.status === "inactive" && r;
  }, 10_000);
  assertEquals(
    asleep.policy?.activateAt,
    asleep.state.completedAt + 8000,
    "it wakes when its retention is over",
  );
  // A message wakes it; the summary is the group's, kept.
  const summary = await t.client.send(id, { kind: "summary" }) as GroupSummary;
  assertEquals([summary.status, summary.completedCount], ["COMPLETE", 1]);
  await eventually(
    "asleep again after the message",
    async () => (await t.client.getAgent(id)).status === "inactive",
    10_000,
  );
  await eventually(
    "removed once its retention is over",
    async () => await t.client.getAgent(id).then(() => false, (err) => err.code === "agent_not_found"),
    20_000,
  );
});

Deno.test("a complete collector whose submission is still under way sleeps only once it gave the submission up", async () => {
  await using t = await computeHost({ name: "solo" });
  const { id } = await t.client.createAgent({
    type: "paglets.result_collector",
    state: {
      groupId: "g-submitting",
      restAfterSeconds: 0.3,
      submissionStatus: "SUBMITTING",
      submissionTimeoutSeconds: 2,
      expectedJobs: { a: { jobKey: "a", agentId: "ag_x", type: "", registeredAt: 0, metadata: {} } },
    },
  });
  // Every job expected so far reported: complete, but the submitter never said it ended.
  await t.client.send(id, {
    kind: "job_result",
    args: { jobKey: "a", reportId: "ra", agentId: "ag_x", result: 1 },
  });
  const asleep = await eventually("asleep", async () => {
    const r = await t.client.getAgent(id) as unknown as {
      status: string;
      state: { submissionStatus: string };
    };
    return r.status === "inactive" && r;
  }, 15_000);
  assertEquals(asleep.state.submissionStatus, "CUT_SHORT", "it watched the submission's deadline first");
});

Deno.test("a collector gives a silent submission up on time across a host restart; a late word from a job wins", async () => {
  const port = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-test-submission-" });
  let t = await computeHost({ name: "solo", port, dataDir });
  try {
    const expected = (key: string) => ({ jobKey: key, agentId: "", type: "", registeredAt: 0, metadata: {} });
    const { id } = await t.client.createAgent({
      type: "paglets.result_collector",
      state: {
        groupId: "g-cut",
        submissionStatus: "SUBMITTING",
        submissionTimeoutSeconds: 1.5,
        expectedJobs: { a: expected("a"), b: expected("b"), c: expected("c") },
      },
    });
    const send = (kind: string, args: Record<string, unknown> = {}) => t.client.send(id, { kind, args });
    await send("register_jobs", { jobs: [{ jobKey: "a", agentId: "ag_a" }] });
    // Stopped before its deadline: the restarted collector keeps to it (the record is read, not
    // asked, so only the collector's own timer can give the submission up).
    await t.host.stop();
    t = await computeHost({ name: "solo", port, dataDir });
    type Stored = { state: { submissionStatus: string; failures: { [key: string]: { stage: string } } } };
    const cut = await eventually("the submission given up", async () => {
      const r = await t.client.getAgent(id) as unknown as Stored;
      return r.state.submissionStatus === "CUT_SHORT" && r;
    }, 20_000);
    assertEquals(Object.keys(cut.state.failures).sort(), ["b", "c"], "a was created: it still runs");
    assertEquals(cut.state.failures.b.stage, "create");

    await send("job_result", { jobKey: "a", reportId: "ra", agentId: "ag_a", result: 1 });
    let s = await send("summary") as GroupSummary;
    assertEquals([s.status, s.completedCount, s.failedCount], ["COMPLETE", 1, 2]);
    assert(s.failures.b.error?.includes("no word from the submitter for 1.5 s"), s.failures.b.error);

    // b was created after all (its registration was lost): its own report replaces the guess.
    await send("job_result", { jobKey: "b", reportId: "rb", agentId: "ag_b", result: 2 });
    s = await send("summary") as GroupSummary;
    assertEquals([Object.keys(s.results).sort(), Object.keys(s.failures), s.duplicateCount], [
      ["a", "b"],
      ["c"],
      0,
    ]);
    // A submitter that was only slow registers c: the group reopens and waits for it.
    await send("register_jobs", { jobs: [{ jobKey: "c", agentId: "ag_c" }], submissionEnded: true });
    s = await send("summary") as GroupSummary;
    assertEquals([s.status, s.submissionStatus, s.pendingJobs], ["ACTIVE", "SUBMITTED", ["c"]]);
  } finally {
    await t.host.stop().catch(() => {});
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a collector refuses a deactivation by hand that would sleep through its submission's deadline", async () => {
  await using t = await computeHost({ name: "solo" });
  const { id } = await t.client.createAgent({
    type: "paglets.result_collector",
    state: { groupId: "g-asleep", submissionStatus: "SUBMITTING", submissionTimeoutSeconds: 600 },
  });
  const refused = await t.client.deactivate(id).then(() => null, (e: Error & { code?: string }) => e);
  assertEquals(refused?.code, "hook_failed", refused?.message);
  assert(refused!.message.includes("watches its submission, which gives up at"), refused!.message);
  assertEquals((await t.client.getAgent(id)).status, "active");
  // Waking before the deadline is fine, and so is any deactivation once the submission ended.
  await t.client.deactivate(id, { afterSeconds: 60 });
  assertEquals((await t.client.getAgent(id)).status, "inactive");
  await t.client.send(id, { kind: "register_jobs", args: { jobs: [], submissionEnded: true } });
  await t.client.deactivate(id);
  assertEquals((await t.client.getAgent(id)).status, "inactive");
});

Deno.test("a submission whose collector's host restarts meanwhile tells it what exists once it is back", async () => {
  const port = freePort();
  const farDir = await Deno.makeTempDir({ prefix: "paglets-test-far-" });
  const modules = [COMPUTE_JOBS, GROUP_JOBS];
  let far = await computeHost({ name: "far", port, dataDir: farDir, modules });
  const farUrl = far.host.url;
  await using home = await computeHost({ name: "home", peers: [farUrl], modules });
  try {
    const farClient = new HostClient(farUrl);
    const client = (url?: string) => (url === farUrl ? farClient : home.client);
    // The fifth job's creation waits until far is down: the registrations after it meet the outage.
    let creations = 0;
    const halfway = Promise.withResolvers<void>();
    const farDown = Promise.withResolvers<void>();
    const launcher: GroupLauncher = {
      entry: home.host.url,
      create: async (type, options) => {
        if (type === SquareJob.type && ++creations === 5) {
          halfway.resolve();
          await farDown.promise;
        }
        const created = await client(options?.host).createAgent({ type, state: options?.state });
        return { id: created.id, host: created.host };
      },
      send: (target, message) => client(target.host).send(target.id, message),
    };
    const states = Array.from({ length: 10 }, (_, i) => ({ n: i, allowHomeCompute: true }));
    const submitting = submitComputeJobGroup(launcher, SquareJob, states, {
      groupId: "outage",
      collectorHost: farUrl,
      createConcurrency: 1,
    });
    await halfway.promise;
    await far.host.stop();
    farDown.resolve();
    // Back after a moment, on its address and data: the collector with it.
    await eventually("registrations meet the outage", () => creations >= 7, 10_000);
    far = await computeHost({ name: "far", port, dataDir: farDir, peers: [home.host.url], modules });
    const group = await submitting;
    assertEquals(group.jobs.length, 10);
    const summary = await group.drain({ timeoutMs: 60_000 });
    assertEquals(
      [summary.completedCount, summary.failedCount, summary.submissionStatus],
      [10, 0, "SUBMITTED"],
      JSON.stringify(summary.failures),
    );
    // A home named by URL only (a script's group) is named as the mesh lists it.
    assertEquals(summary.home.hostName, "home");
  } finally {
    await far.host.stop().catch(() => {});
    await Deno.remove(farDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("two groups that use the same job keys at once each complete with their own results", async () => {
  await using t = await computeHost({ name: "solo", modules: [COMPUTE_JOBS, GROUP_JOBS] });
  const launcher = clientLauncher(t.client, t.host.url);
  // Keys of the user's own, the same in both groups (a script run twice at once, edited in between).
  const states = (base: number) =>
    [1, 2, 3].map((n) => ({ jobKey: `chunk-${n}`, n: base + n, allowHomeCompute: true }));
  const groups = await Promise.all([
    submitComputeJobGroup(launcher, SquareJob, states(0)),
    submitComputeJobGroup(launcher, SquareJob, states(10)),
  ]);
  const [first, second] = await Promise.all(groups.map((g) => g.drain({ timeoutMs: 30_000 })));
  for (const [summary, base] of [[first, 0], [second, 10]] as const) {
    assertEquals([summary.completedCount, summary.failedCount], [3, 0], JSON.stringify(summary.failures));
    assertEquals(
      Object.values(summary.results).map((r) => (r.result as { square: number }).square).sort((a, b) =>
        a - b
      ),
      [1, 2, 3].map((n) => (base + n) ** 2),
    );
  }
});

Deno.test("a job removed before it reported is recorded as failed at stage removed: its group completes", async () => {
  await using t = await computeHost({ name: "solo", modules: [COMPUTE_JOBS, GROUP_JOBS] });
  const launcher = clientLauncher(t.client, t.host.url);
  const group = await submitComputeJobGroup(launcher, SquareJob, [
    { n: 2, allowHomeCompute: true },
    { n: 3, allowHomeCompute: true, stepMs: 5000 },
  ]);
  const slow = group.jobs[1];
  await t.client.dispose(slow.agentId); // what `paglets jobs rm` does
  const summary = await group.drain({ timeoutMs: 30_000 });
  assertEquals([summary.completedCount, summary.failedCount], [1, 1]);
  assertEquals(summary.failures[slow.jobKey].stage, "removed");
  assert(
    summary.failures[slow.jobKey].error?.includes("removed on solo before it reported"),
    summary.failures[slow.jobKey].error,
  );
});

Deno.test("jobs removed asleep by paglets jobs rm are recorded as failed at stage removed: their group completes", async () => {
  await using t = await computeHost({ name: "solo", modules: [COMPUTE_JOBS, GROUP_JOBS] });
  // Every CPU busy, so that the group's jobs wait for a slot, asleep.
  await createSpinJobs(t.client, CPUS.length, { cpuCores: 1, ms: 600_000 });
  await eventually(
    "busy jobs hold every CPU",
    async () => (await slotStatus(t.client)).host.reservedCpuCores === CPUS.length,
    10_000,
  );
  const group = await submitComputeJobGroup(clientLauncher(t.client, t.host.url), SquareJob, [
    { n: 2, allowHomeCompute: true },
    { n: 3, allowHomeCompute: true },
  ]);
  const ids = group.jobs.map((j) => j.agentId);
  await eventually("the group's jobs wait for a slot, asleep", async () => {
    const records = await Promise.all(ids.map((id) => t.client.getAgent(id)));
    return records.every((r) => r.status === "inactive") &&
      (await slotStatus(t.client)).host.queueLength === 2;
  }, 20_000);
  const removed = jsonOf<{ removed: string[] }>(
    await paglets(["jobs", "rm", "--all", "--force", "--json", "--entry", t.host.url]),
  );
  assertEquals(removed.removed.sort(), [...ids].sort());
  const summary = await group.drain({ timeoutMs: 30_000 });
  assertEquals([summary.completedCount, summary.failedCount], [0, 2]);
  for (const job of group.jobs) {
    assertEquals(summary.failures[job.jobKey].stage, "removed");
    assertEquals(summary.failures[job.jobKey].error, "removed on solo before it reported");
  }
});

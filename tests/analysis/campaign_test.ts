/**
 * The analysis example across real host processes: results come home exactly once even when home
 * is away while the jobs compute, commits take turns on the DB's file lock, a lock held too long
 * fails a commit clearly (and a retry commits), and a workload that throws leaves no rows.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, type HostProcess, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { lockPathOf } from "../../examples/analysis/results_db.ts";
import { FINAL_STATUSES } from "../../examples/analysis/operations.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  campaignReaches,
  dbRows,
  holdLock,
  notifications,
  smallCampaign,
  start,
  startCampaign,
  summary,
} from "./helpers.ts";

const FAILING_JOB = new URL("./fixtures/failing_job.ts", import.meta.url).pathname;

async function tempDb(): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "paglets-analysis-test-" });
  return { dir, path: `${dir}/results.sqlite` };
}

async function meshed(a: HostProcess, names: string[]): Promise<void> {
  await eventually(`${a.name} to see ${names.join(", ")} online`, async () => {
    const { hosts } = await a.client.request<{ hosts: { name: string; online: boolean }[] }>(
      "GET",
      "/v1/mesh/hosts",
    );
    return names.every((n) => hosts.some((h) => h.name === n && h.online));
  }, 20_000);
}

/** Arrow files under a folder (a host's persistent storage). */
async function arrowFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else if (e.name.endsWith(".arrow")) found.push(`${d}/${e.name}`);
    }
  };
  await walk(dir).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  return found;
}

/** A job's state on whichever of `hosts` holds it now. */
async function jobState(hosts: HostProcess[], agentId: string): Promise<Record<string, unknown> | null> {
  for (const host of hosts) {
    const record = await host.client.getAgent(agentId).catch(() => null);
    if (record && "state" in record) {
      return { ...(record.state as Record<string, unknown>), onHost: host.name };
    }
  }
  return null;
}

Deno.test("home stopped while its jobs compute: results wait on the compute hosts and land exactly once after home returns", async () => {
  const db = await tempDb();
  try {
    const port = freePort();
    const homeDir = await tempDir("paglets-test-home-");
    let home = await start("home", { port, dataDir: homeDir });
    const a = await start("linux-a", { args: ["--peer", home.url] });
    const b = await start("linux-b", { args: ["--peer", home.url] });
    await meshed(home, ["linux-a", "linux-b"]);
    await meshed(a, ["linux-b"]);
    const tasks = 4;
    const campaignId = await startCampaign(
      home.client,
      smallCampaign(db.path, {
        tasks,
        targetRuntimeSeconds: 2,
        allowHomeCompute: false,
        homeCheckSeconds: 1,
      }),
    );
    // Every job has been seen on a compute host; then home goes away while they compute.
    const seenAway = new Set<string>();
    const placed = await campaignReaches(home.client, campaignId, "every job on a compute host", (s) => {
      for (const j of s.jobs) if (j.host !== "home") seenAway.add(j.jobId);
      return s.jobs.length === tasks && seenAway.size === tasks;
    });
    assert(placed.jobs.every((j) => j.status !== "COMMITTED"), "home stops before any commit");
    const agentIds = placed.jobs.map((j) => j.agentId);
    await home.stop();

    // The jobs finish, keep their frames on the compute hosts, and check for home on timed wake-ups.
    const waiting = await eventually(
      "every job waiting for home after a home check",
      async () => {
        const states = await Promise.all(agentIds.map((id) => jobState([a, b], id)));
        return states.every((s) => s?.status === "WAITING_FOR_HOME" && (s.homeChecks as number) >= 2) &&
          states;
      },
      60_000,
      250,
    );
    for (const s of waiting) {
      assert(s && ["linux-a", "linux-b"].includes(String(s.onHost)), `job on ${s?.onHost}`);
      assertEquals(Object.keys(s!.resultPaths as object).sort(), [
        "feature_summary",
        "job_summary",
        "prediction_summary",
      ]);
    }
    assertEquals(
      dbRows(db.path, "SELECT job_id FROM job_summary").length,
      0,
      "nothing committed while home was away",
    );

    home = await start("home", { port, dataDir: homeDir });
    const done = await campaignReaches(home.client, campaignId, "every job committed", (s) => s.done, 60_000);
    assertEquals(
      done.counts,
      { COMMITTED: tasks },
      JSON.stringify(done.jobs.filter((j) => j.status !== "COMMITTED")),
    );
    const ids = dbRows(db.path, "SELECT job_id FROM job_summary ORDER BY job_id").map((r) => r.job_id);
    assertEquals(ids, done.jobs.map((j) => j.jobId), "each job's summary row exactly once");
    assertEquals(dbRows(db.path, "SELECT COUNT(*) AS n FROM feature_summary")[0].n, tasks * 8);
    assertEquals(dbRows(db.path, "SELECT COUNT(*) AS n FROM prediction_summary")[0].n, tasks * 2);
    const hosts = dbRows(db.path, "SELECT DISTINCT host FROM job_summary").map((r) => r.host);
    assert(hosts.every((h) => h === "linux-a" || h === "linux-b"), `computed on ${hosts}`);
    // Nothing is left behind: no stored frames on the compute hosts, no job anywhere.
    for (const host of [a, b]) {
      assertEquals(await arrowFiles(`${host.dataDir}/storage`), [], `frames left on ${host.name}`);
    }
    await eventually(
      "jobs disposed",
      async () =>
        (await Promise.all(agentIds.map((id) => jobState([home, a, b], id)))).every((s) => s === null),
      20_000,
    );
  } finally {
    await stopAll();
    await Deno.remove(db.dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("two jobs committing at once wait for another process's lock and then commit one after the other", async () => {
  const db = await tempDb();
  try {
    const home = await start("home");
    const lock = await holdLock(lockPathOf(db.path));
    try {
      const campaignId = await startCampaign(
        home.client,
        smallCampaign(db.path, { tasks: 2, dbLockTimeoutSeconds: 60 }),
      );
      await campaignReaches(
        home.client,
        campaignId,
        "both jobs waiting for the lock",
        (s) => s.jobs.length === 2 && s.jobs.every((j) => j.status === "COMMITTING"),
      );
      assertEquals(dbRows(db.path, "SELECT job_id FROM job_summary").length, 0);
    } finally {
      await lock.release();
    }
    const rows = await eventually("both rows", () => {
      const r = dbRows(db.path, "SELECT job_id FROM job_summary");
      return r.length === 2 && r;
    }, 30_000);
    assertEquals(new Set(rows.map((r) => r.job_id)).size, 2);
    await eventually(
      "no stored frames left at home",
      async () => (await arrowFiles(`${home.dataDir}/storage`)).length === 0,
    );
  } finally {
    await stopAll();
    await Deno.remove(db.dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a lock held past --db-lock-timeout fails the commit with a clear error; a retry commits", async () => {
  const db = await tempDb();
  try {
    const home = await start("home");
    const lock = await holdLock(lockPathOf(db.path));
    let campaignId = "";
    try {
      campaignId = await startCampaign(
        home.client,
        smallCampaign(db.path, { tasks: 1, dbLockTimeoutSeconds: 0.5 }),
      );
      const failed = await campaignReaches(home.client, campaignId, "the commit to fail", (s) => s.done);
      const [job] = failed.jobs;
      assertEquals(job.status, "FAILED_FINAL");
      assert(job.error.includes(lockPathOf(db.path)) && job.error.includes("0.5 s"), job.error);
      const notes = await notifications(home.client);
      assert(
        notes.some((n) => n.title === "Analysis commit failed" && n.jobId === job.jobId),
        JSON.stringify(notes),
      );
    } finally {
      await lock.release();
    }
    const reply = await home.client.send(campaignId, { kind: "analysis.retry", args: {} }) as {
      retried: string[];
    };
    assertEquals(reply.retried.length, 1);
    const done = await summary(home.client, campaignId);
    assertEquals(done.counts, { COMMITTED: 1 });
    assertEquals(done.results?.tables.job_summary, 1);
  } finally {
    await stopAll();
    await Deno.remove(db.dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a workload that throws ends FAILED_FINAL with a notification and no rows", async () => {
  const db = await tempDb();
  try {
    const home = await start("home", { args: ["--module", FAILING_JOB] });
    const { id } = await home.client.createAgent({
      type: "test.analysis.failing",
      state: {
        ...smallCampaign(db.path),
        jobId: "failing-0000",
        campaignId: "failing",
        estimatedRuntimeSeconds: 1,
      },
    });
    const state = await eventually("the job to end", async () => {
      const s = (await home.client.getAgent(id)).state as Record<string, string>;
      return FINAL_STATUSES.has(s.status) && s;
    }, 30_000);
    assertEquals(state.status, "FAILED_FINAL");
    assertEquals(state.computeStatus, "FAILED_FINAL");
    assert(state.error.includes("could not be generated (on purpose)"), state.error);
    const notes = await notifications(home.client);
    assert(
      notes.some((n) => n.title === "Analysis job failed" && n.jobId === "failing-0000"),
      JSON.stringify(notes),
    );
    assertEquals(dbRows(db.path, "SELECT job_id FROM job_summary").length, 0);
  } finally {
    await stopAll();
    await Deno.remove(db.dir, { recursive: true }).catch(() => {});
  }
});

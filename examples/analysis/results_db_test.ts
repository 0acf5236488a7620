import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertRejectsCode } from "../../tests/helpers/assert.ts";
import { appendResults, lockPathOf, summarizeResults } from "./results_db.ts";
import { jobSummaryBytes, runAnalysis } from "./workload.ts";

function payloadsFor(jobId: string, host = "h1") {
  const input = {
    campaignId: "c1",
    jobId,
    seed: 10000,
    rows: 400,
    features: 6,
    trees: 2,
    targetRuntimeSeconds: 0,
  };
  const out = runAnalysis(input);
  return {
    job_summary: jobSummaryBytes(input, out.metrics, {
      host,
      cpuCoreIds: [1],
      cpuAffinitySupported: true,
      cpuAffinityEnforced: true,
      cpuAffinityError: "",
    }),
    feature_summary: out.featureSummary,
    prediction_summary: out.predictionSummary,
  };
}

async function tempDb(): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "paglets-analysis-db-" });
  return { path: `${dir}/results.sqlite`, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("a job's frames are appended once; a repeated commit adds nothing", async () => {
  const db = await tempDb();
  try {
    const first = await appendResults(db.path, "c1-0000", payloadsFor("c1-0000"), 5);
    assertEquals(first.rows, { job_summary: 1, feature_summary: 6, prediction_summary: 2 });
    const again = await appendResults(db.path, "c1-0000", payloadsFor("c1-0000"), 5);
    assertEquals(again.alreadyCommitted, true);
    await appendResults(db.path, "c1-0001", payloadsFor("c1-0001", "h2"), 5);
    const s = summarizeResults(db.path, "c1");
    assertEquals(s.tables, { job_summary: 2, feature_summary: 12, prediction_summary: 4 });
    assertEquals(s.hosts, [{ host: "h1", jobs: 1 }, { host: "h2", jobs: 1 }]);
  } finally {
    await db.cleanup();
  }
});

Deno.test("two commits at once take turns on the lock and both land", async () => {
  const db = await tempDb();
  try {
    const [a, b] = await Promise.all([
      appendResults(db.path, "c1-0000", payloadsFor("c1-0000"), 10),
      appendResults(db.path, "c1-0001", payloadsFor("c1-0001"), 10),
    ]);
    assertEquals([a.alreadyCommitted, b.alreadyCommitted], [false, false]);
    assertEquals(summarizeResults(db.path).tables.job_summary, 2);
  } finally {
    await db.cleanup();
  }
});

Deno.test("a lock held by another process past the timeout fails the commit clearly; a retry commits", async () => {
  const db = await tempDb();
  // Another process (Python, fcntl.flock) holds the lock until its stdin closes.
  const holder = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import fcntl,sys; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
      lockPathOf(db.path),
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  try {
    const reader = holder.stdout.getReader();
    await reader.read(); // "held": the other process has the lock
    const err = await assertRejectsCode(
      () => appendResults(db.path, "c1-0000", payloadsFor("c1-0000"), 0.3),
      "timeout",
    );
    assert(err.message.includes(lockPathOf(db.path)), err.message);
    assertEquals(summarizeResults(db.path).tables.job_summary, 0);
    await holder.stdin.close();
    await holder.status;
    reader.releaseLock();
    await appendResults(db.path, "c1-0000", payloadsFor("c1-0000"), 5);
    assertEquals(summarizeResults(db.path).tables.job_summary, 1);
  } finally {
    await holder.stdin.close().catch(() => {});
    await holder.status;
    await holder.stdout.cancel().catch(() => {});
    await db.cleanup();
  }
});

Deno.test("the database opens in Debian's sqlite3 and Python's sqlite3 with the documented schema", async () => {
  const db = await tempDb();
  try {
    await appendResults(db.path, "c1-0000", payloadsFor("c1-0000"), 5);
    const cli = await new Deno.Command("sqlite3", {
      args: [db.path, "SELECT job_id, host, cpu_core_ids, cpu_affinity_enforced FROM job_summary"],
    }).output();
    assertEquals(new TextDecoder().decode(cli.stdout).trim(), "c1-0000|h1|1|1");
    const py = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); " +
        "print(','.join(r[1] for r in c.execute('PRAGMA table_info(feature_summary)'))); " +
        "print(c.execute('SELECT COUNT(*) FROM prediction_summary').fetchone()[0])",
        db.path,
      ],
    }).output();
    assertEquals(
      new TextDecoder().decode(py.stdout).trim().split("\n"),
      ["campaign_id,job_id,feature,feature_index,role,importance,importance_rank,mean,std", "2"],
    );
    const direct = new DatabaseSync(db.path, { readOnly: true });
    const cols = direct.prepare("PRAGMA table_info(job_summary)").all().map((r) =>
      (r as { name: string }).name
    );
    direct.close();
    assert(cols.includes("cpu_affinity_error") && cols.includes("cpu_core_ids"));
  } finally {
    await db.cleanup();
  }
});

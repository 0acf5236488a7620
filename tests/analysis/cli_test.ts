/** `paglets examples analysis` as a user runs it: real processes, an embedded host or a running one. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import type { CampaignSummary, StartReply } from "../../examples/analysis/operations.ts";
import { start } from "./helpers.ts";

const SMALL = [
  "--rows",
  "1500",
  "--features",
  "8",
  "--trees",
  "4",
  "--target-runtime",
  "0.2",
  "--memory",
  "32M",
];

Deno.test("with no mesh, a campaign runs on an embedded host and --json prints the DB summary", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-analysis-cli-" });
  try {
    const run = await paglets([
      "examples",
      "analysis",
      "--tasks",
      "2",
      ...SMALL,
      "--db",
      `${dir}/r.sqlite`,
      "--json",
    ]);
    const summary = jsonOf<CampaignSummary>(run);
    assertEquals(summary.counts, { COMMITTED: 2 });
    assertEquals(summary.results?.tables, { job_summary: 2, feature_summary: 16, prediction_summary: 4 });
    assertEquals(summary.results?.hosts, [{ host: "embedded", jobs: 2 }]);
    assertEquals(summary.results?.jobs.map((j) => j.jobId), [
      `${summary.campaignId}-0000`,
      `${summary.campaignId}-0001`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--no-wait submits to a running host; --status reports the campaign until it is done", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-analysis-cli-" });
  try {
    const host = await start("home");
    const db = `${dir}/r.sqlite`;
    const started = jsonOf<StartReply>(
      await paglets([
        "examples",
        "analysis",
        "--entry",
        host.url,
        "--tasks",
        "3",
        ...SMALL,
        "--db",
        db,
        "--no-wait",
        "--json",
      ]),
    );
    assertEquals(started.created, 3);
    const done = await eventually(
      "the campaign to end",
      async () => {
        const s = jsonOf<CampaignSummary>(
          await paglets([
            "examples",
            "analysis",
            "--entry",
            host.url,
            "--status",
            started.campaignId,
            "--json",
          ]),
        );
        return s.done && s;
      },
      60_000,
      500,
    );
    assertEquals(done.counts, { COMMITTED: 3 });
    assertEquals(done.results?.tables.job_summary, 3);
    const text = await paglets(["examples", "analysis", "--entry", host.url, "--status", started.campaignId]);
    assertEquals(text.code, 0, text.stderr);
    assert(text.stdout.includes(`DB ${db}: job_summary 3 rows`), text.stdout);
    assert(text.stdout.includes("hosts used: home (3)"), text.stdout);
  } finally {
    await stopAll();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input fails at once with a code, a message naming the option, and exit status 2", async () => {
  for (
    const [args, text] of [
      [["--rows", "5"], "--rows must be a whole number from 100 to 10000000: current value is '5'"],
      [["--memory", "lots"], "--memory: Size must look like"],
      [["--db-lock-timeout", "-1"], "--db-lock-timeout must be a number from 0"],
    ] as const
  ) {
    const run = await paglets(["examples", "analysis", ...args]);
    assertEquals(run.code, 2, run.stderr);
    assert(run.stderr.includes(`error [invalid_request]: ${text}`), run.stderr);
  }
});

/**
 * `paglets examples analysis`: an analysis campaign on the mesh (or on an embedded host when no mesh
 * answers). Creates a campaign seeder on the entry host (the campaign's home), starts it, and
 * follows its jobs: a compact table redrawn in place on a terminal, a line per change otherwise.
 * At the end it prints what the DB holds for the campaign. `--no-wait` submits and returns;
 * `--status CAMPAIGN` reports on a campaign later; `--retry CAMPAIGN` retries failed commits.
 *
 * @module
 */
import type { Command } from "../../cli/command.ts";
import { homeDir, resolve } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";
import { ensureCommand } from "../../services/cli_support.ts";
import { type EntryOptions, withEntryOrEmbedded } from "../../cli/entry.ts";
import { parseSize } from "../../host/options.ts";
import type { HostClient } from "../../host/client.ts";
import type { CampaignRequest, CampaignSummary, StartReply } from "./operations.ts";
import { renderLines, renderTable } from "./progress.ts";
import { sleep } from "../../agents/timers.ts";
import { writeAll } from "../../host/write_all.ts";

interface AnalysisCommandOptions {
  tasks: string;
  db: string;
  rows: string;
  features: string;
  trees: string;
  targetRuntime: string;
  memory: string;
  cpuCores: string;
  tempStorage: string;
  dbLockTimeout: string;
  homeCheck: string;
  homeCompute: boolean;
  wait: boolean;
  status?: string;
  retry?: string;
  timeout: string;
  json?: boolean;
  entry?: string;
  apiKeyEnv?: string;
}

const SEEDER_TYPE = "examples.analysis.seeder";

export function registerAnalysisCommand(program: Command): void {
  const examples = ensureCommand(program, "examples", "Example jobs that run on the mesh");
  examples.command("analysis")
    .description("Random-forest analysis jobs on the mesh; results come home into one SQLite DB")
    .option("--tasks <n>", "number of jobs", "20")
    .option("--db <path>", "SQLite result DB on the entry host", "~/paglets-analysis-results.sqlite")
    .option("--rows <n>", "synthetic rows per job", "80000")
    .option("--features <n>", "features per row", "32")
    .option("--trees <n>", "trees per random forest", "80")
    .option("--target-runtime <seconds>", "pad each job with CPU work up to this runtime", "150")
    .option("--memory <size>", "memory estimate per job", "512M")
    .option("--cpu-cores <n>", "CPU cores per job", "1")
    .option("--temp-storage <size>", "scratch space estimate per job", "256M")
    .option("--db-lock-timeout <seconds>", "longest wait for the DB's file lock", "60")
    .option("--home-check <seconds>", "how often a finished job checks whether home is back", "300")
    .option("--no-home-compute", "run jobs on other hosts only, never on the entry host")
    .option("--no-wait", "submit the campaign and return")
    .option("--status <campaign>", "report on a campaign started earlier")
    .option("--retry <campaign>", "retry the commits that failed in a campaign")
    .option("--timeout <seconds>", "stop following after this long (0 = until the campaign ends)", "0")
    .option("--json", "print only the final summary object")
    .option("-e, --entry <name|url>", "host to talk to (default: $PAGLETS_ENTRY or http://127.0.0.1:8765)")
    .option("--api-key-env <name>", "environment variable holding the API key")
    .action(async (o: AnalysisCommandOptions) => {
      const code = await runAnalysisCommand(o);
      if (code !== 0) Deno.exitCode = code;
    });
}

/** Validates the options at the boundary: every bad value is an `invalid_request` naming the option. */
export function parseCampaign(o: AnalysisCommandOptions): CampaignRequest {
  return {
    tasks: num(o.tasks, "--tasks", 1, 10_000, true),
    dbPath: resolve(o.db.replace(/^~(?=$|\/)/, homeDir())),
    rows: num(o.rows, "--rows", 100, 10_000_000, true),
    features: num(o.features, "--features", 4, 1024, true),
    trees: num(o.trees, "--trees", 1, 10_000, true),
    targetRuntimeSeconds: num(o.targetRuntime, "--target-runtime", 0, 7 * 24 * 3600),
    memoryBytes: size(o.memory, "--memory", 1),
    cpuCores: num(o.cpuCores, "--cpu-cores", 1, 1024, true),
    tempStorageBytes: size(o.tempStorage, "--temp-storage", 0),
    dbLockTimeoutSeconds: num(o.dbLockTimeout, "--db-lock-timeout", 0, 24 * 3600),
    homeCheckSeconds: num(o.homeCheck, "--home-check", 0.1, 7 * 24 * 3600),
    allowHomeCompute: o.homeCompute,
  };
}

function num(text: string, option: string, min: number, max: number, integer = false): number {
  const value = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new PagletError(
      "invalid_request",
      `${option} must be ${
        integer ? "a whole number" : "a number"
      } from ${min} to ${max}: current value is '${text}'`,
    );
  }
  return value;
}

function size(text: string, option: string, min: number): number {
  let value: number | null;
  try {
    value = parseSize(text);
  } catch (err) {
    throw new PagletError("invalid_request", `${option}: ${(err as Error).message}`);
  }
  if (value === null || value < min) {
    throw new PagletError(
      "invalid_request",
      `${option} must be a size of at least ${min} bytes: current value is '${text}'`,
    );
  }
  return value;
}

async function runAnalysisCommand(o: AnalysisCommandOptions): Promise<number> {
  const timeoutSeconds = num(o.timeout, "--timeout", 0, 30 * 24 * 3600);
  const request = o.status || o.retry ? null : parseCampaign(o);
  const json = o.json ?? false;
  const entry: EntryOptions = { entry: o.entry, apiKeyEnv: o.apiKeyEnv };
  if (!request || !o.wait) {
    // Nothing to follow here: a campaign outlives this command only on a host that keeps running.
    return await withRunningHost(entry, async (client) => {
      if (o.retry) {
        const reply = await client.send(o.retry, { kind: "analysis.retry", args: {} }) as {
          retried: string[];
        };
        await out(
          json ? JSON.stringify(reply, null, 2) : `retried commits: ${reply.retried.join(", ") || "none"}`,
        );
        return 0;
      }
      if (o.status) {
        const summary = await campaignSummary(client, o.status, true);
        await out(json ? JSON.stringify(summary, null, 2) : renderFinal(summary));
        return 0;
      }
      const started = await startCampaign(client, request!);
      await out(
        json
          ? JSON.stringify(started, null, 2)
          : `campaign ${started.campaignId}: ${started.created} jobs submitted ` +
            `(follow with: paglets examples analysis --status ${started.campaignId})`,
      );
      return Object.keys(started.errors).length ? 1 : 0;
    });
  }
  return await withEntryOrEmbedded({ ...entry, quiet: json }, async (client) => {
    const started = await startCampaign(client, request);
    const tty = !json && liveTerminal();
    const summary = await follow(client, started, { json, tty, timeoutSeconds });
    // On a terminal the last frame of the live table stays on screen; below it only the results.
    await out(json ? JSON.stringify(summary, null, 2) : renderFinal(summary, !tty));
    if (summary.done) await client.dispose(started.campaignId).catch(() => {});
    const failed = (summary.counts.FAILED_FINAL ?? 0) + (summary.counts.NOT_CREATED ?? 0);
    return summary.done && failed === 0 ? 0 : 1;
  });
}

/** Like withEntryOrEmbedded, but a campaign that must outlive the command needs a host that is already up. */
async function withRunningHost<T>(entry: EntryOptions, fn: (client: HostClient) => Promise<T>): Promise<T> {
  return await withEntryOrEmbedded({ ...entry, quiet: true }, async (client, embedded) => {
    if (embedded) {
      throw new PagletError(
        "host_unreachable",
        "--no-wait, --status and --retry need a running host: start one with `paglets host` (or name it with --entry)",
      );
    }
    return await fn(client);
  });
}

async function startCampaign(client: HostClient, request: CampaignRequest): Promise<StartReply> {
  const campaignId = `analysis-${crypto.randomUUID().replaceAll("-", "")}`;
  await client.createAgent({ type: SEEDER_TYPE, id: campaignId });
  return await client.send(campaignId, { kind: "analysis.start", args: { ...request, campaignId } }, {
    timeoutMs: 120_000,
  }) as StartReply;
}

function campaignSummary(
  client: HostClient,
  campaignId: string,
  withResults: boolean,
): Promise<CampaignSummary> {
  return client.send(campaignId, { kind: "analysis.summary", args: { withResults } }) as Promise<
    CampaignSummary
  >;
}

/** Polls the seeder until every job is final (or the timeout), showing progress; returns the final summary. */
async function follow(
  client: HostClient,
  started: StartReply,
  { json, tty, timeoutSeconds }: { json: boolean; tty: boolean; timeoutSeconds: number },
): Promise<CampaignSummary> {
  const deadline = timeoutSeconds > 0 ? Date.now() + timeoutSeconds * 1000 : Infinity;
  const { default: logUpdate } = tty ? await import("log-update") : { default: null };
  const seen = new Map<string, string>();
  try {
    while (true) {
      const summary = await campaignSummary(client, started.campaignId, false);
      if (logUpdate) logUpdate(renderTable(summary));
      else if (!json) { for (const line of renderLines(summary, seen)) await out(line); }
      if (summary.done || Date.now() >= deadline) break;
      await sleep(500);
    }
  } finally {
    logUpdate?.done();
  }
  return await campaignSummary(client, started.campaignId, true);
}

/** A terminal the live table can be redrawn on (one that reports a size). */
function liveTerminal(): boolean {
  if (!Deno.stdout.isTerminal()) return false;
  try {
    const { rows, columns } = Deno.consoleSize();
    return rows > 0 && columns > 0;
  } catch {
    return false;
  }
}

function renderFinal(s: CampaignSummary, withTable = true): string {
  const lines = withTable ? [renderTable(s)] : [];
  const r = s.results;
  if (r) {
    lines.push(
      `DB ${s.dbPath}: job_summary ${r.tables.job_summary} rows, feature_summary ${r.tables.feature_summary}, ` +
        `prediction_summary ${r.tables.prediction_summary}`,
    );
    if (r.jobs.length) {
      const acc = r.jobs.map((j) => j.accuracy);
      const mean = acc.reduce((a, v) => a + v, 0) / acc.length;
      lines.push(
        `accuracy: mean ${(mean * 100).toFixed(2)} %, min ${(Math.min(...acc) * 100).toFixed(2)} %, max ${
          (Math.max(...acc) * 100).toFixed(2)
        } %`,
      );
      lines.push(`hosts used: ${r.hosts.map((h) => `${h.host} (${h.jobs})`).join(", ")}`);
    }
  }
  for (const [jobId, error] of Object.entries(s.errors)) lines.push(`not created: ${jobId}: ${error}`);
  for (const j of s.jobs) if (j.status === "FAILED_FINAL") lines.push(`failed: ${j.jobId}: ${j.error}`);
  return lines.join("\n");
}

const encoder = new TextEncoder();

function out(text: string): Promise<void> {
  return writeAll(Deno.stdout, encoder.encode(text + "\n"));
}

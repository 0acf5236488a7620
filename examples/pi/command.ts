/**
 * `paglets examples pi`: digits of Pi computed by paglets on the mesh (or on an embedded host when no
 * mesh answers). Text mode starts the job and long-polls `pi.drain_stream`, writing the digits to stdout
 * as they become certain ("3." first, like Debian's `pi`), with a progress line on stderr when that is a
 * terminal of its own; `--json` prints the job's summary at the end instead. `--output FILE` has the
 * post-processor write the same digits to FILE (on the entry host).
 *
 * @module
 */
import type { Command } from "../../cli/command.ts";
import { resolve } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";
import { ensureCommand } from "../../services/cli_support.ts";
import { type EntryOptions, withEntryOrEmbedded } from "../../cli/entry.ts";
import { commandEnded, whileRunning } from "../../cli/signals.ts";
import { parseSize } from "../../host/options.ts";
import type { HostClient } from "../../host/client.ts";
import {
  MAX_DIGIT_POSITION,
  type PiDrainReply,
  type PiJobInput,
  type PiProgress,
  type PiStartReply,
  type PiSummary,
} from "./operations.ts";
import { groupThousands } from "./format.ts";
import { type ByteWriter, writeAll } from "../../host/write_all.ts";

/** What the command line hands the action (all option values as typed). */
interface PiCommandOptions {
  digits: string;
  start: string;
  batchSize: string;
  maxInFlight: string;
  maxWorkersPerHost: string;
  maxLoadPerCpu: string;
  maxCpuPercent: string;
  mem?: string;
  disk?: string;
  streamChunkSize: string;
  timeout: string;
  requestTimeout: string;
  output?: string;
  json?: boolean;
  entry?: string;
  apiKeyEnv?: string;
}

export function registerPiCommand(program: Command): void {
  const examples = ensureCommand(program, "examples", "Example jobs that run on the mesh");
  examples.command("pi")
    .description("Digits of Pi by Chudnovsky batches spread over the mesh (an embedded host without one)")
    .option("--digits <n>", "number of digits (position 0 is the '3')", "16")
    .option("--start <offset>", "first digit position", "0")
    .option("--batch-size <terms>", "series terms per batch (0 = chosen from the digits and free slots)", "0")
    .option("--max-in-flight <n>", "batches running at once for the job (0 = as the slots allow)", "0")
    .option("--max-workers-per-host <n>", "batches running at once on one host (0 = as its slots allow)", "0")
    .option(
      "--max-load-per-cpu <x>",
      "hosts above this load per CPU (load1, or the cores in use now when fewer) take no batches",
      "1.0",
    )
    .option("--max-cpu-percent <x>", "hosts busier than this take no batches", "100")
    .option("--mem <size>", "minimum available memory of a host (e.g. 2G)")
    .option("--disk <size>", "minimum free space in a host's work dir (e.g. 10G)")
    .option(
      "--stream-chunk-size <n>",
      "digits shown before the end come in pieces of at least this many",
      "8192",
    )
    .option("--timeout <seconds>", "fail the job after this long (0 = never)", "0")
    .option("--request-timeout <seconds>", "HTTP request window of the CLI", "30")
    .option("--output <file>", "also write the digits to this file (on the entry host)")
    .option("--json", "print only a summary object at the end")
    .option("-e, --entry <name|url>", "host to talk to (default: $PAGLETS_ENTRY or http://127.0.0.1:8765)")
    .option("--api-key-env <name>", "environment variable holding the API key")
    .action(async (o: PiCommandOptions) => {
      const request = parseRequest(o);
      const requestTimeout = number(o.requestTimeout, "--request-timeout", { min: 1 });
      const code = await runPi(request, {
        entry: o.entry,
        apiKeyEnv: o.apiKeyEnv,
        timeout: requestTimeout,
        json: o.json ?? false,
      });
      // Everything is written and the embedded host is stopped: ending the process here spares the
      // runtime's teardown of the threads (15-20 ms of a 1,000,000-digit run's ~1 s). After Ctrl-C,
      // the signal's handler exits instead (130).
      await commandEnded();
      Deno.exit(code);
    });
}

/** Validates the options at the boundary: every bad value is an `invalid_request` naming the option. */
export function parseRequest(o: PiCommandOptions): PiJobInput {
  const digits = number(o.digits, "--digits", { min: 1, max: MAX_DIGIT_POSITION, integer: true });
  const start = number(o.start, "--start", { min: 0, max: MAX_DIGIT_POSITION, integer: true });
  if (start + digits > MAX_DIGIT_POSITION) {
    throw new PagletError(
      "invalid_request",
      `--start ${start} is beyond the range: start + digits must be at most ${
        groupThousands(MAX_DIGIT_POSITION)
      }`,
    );
  }
  return {
    digits,
    start,
    batchSize: number(o.batchSize, "--batch-size", { min: 0, integer: true }),
    maxInFlight: number(o.maxInFlight, "--max-in-flight", { min: 0, integer: true }),
    maxWorkersPerHost: number(o.maxWorkersPerHost, "--max-workers-per-host", { min: 0, integer: true }),
    maxLoadPerCpu: number(o.maxLoadPerCpu, "--max-load-per-cpu", { min: 0, exclusive: true }),
    maxCpuPercent: number(o.maxCpuPercent, "--max-cpu-percent", { min: 0, max: 100 }),
    minMemoryBytes: o.mem === undefined ? 0 : size(o.mem, "--mem"),
    minDiskBytes: o.disk === undefined ? 0 : size(o.disk, "--disk"),
    streamChunkSize: number(o.streamChunkSize, "--stream-chunk-size", { min: 1, integer: true }),
    timeoutSeconds: number(o.timeout, "--timeout", { min: 0 }),
    outputPath: o.output === undefined ? null : resolve(o.output),
  };
}

function number(
  text: string,
  option: string,
  rule: { min?: number; max?: number; integer?: boolean; exclusive?: boolean },
): number {
  const value = text.trim() === "" ? NaN : Number(text);
  const { min = -Infinity, max = Infinity, integer = false, exclusive = false } = rule;
  const ok = Number.isFinite(value) && (!integer || Number.isInteger(value)) &&
    (exclusive ? value > min : value >= min) && value <= max;
  if (!ok) {
    const kind = integer ? "a whole number" : "a number";
    const range = max === Infinity
      ? `${exclusive ? ">" : "≥"} ${min}`
      : `from ${min} to ${groupThousands(max)}`;
    throw new PagletError(
      "invalid_request",
      `${option} must be ${kind} ${range}: current value is '${text}'`,
    );
  }
  return value;
}

function size(text: string, option: string): number {
  try {
    return parseSize(text) ?? 0;
  } catch (err) {
    throw new PagletError("invalid_request", `${option}: ${(err as Error).message}`);
  }
}

/** How the CLI talks to the job. */
export interface RunPiOptions extends EntryOptions {
  json: boolean;
  /** Where the digits go (default stdout). */
  out?: ByteWriter;
  /** Where progress and notes go (default stderr); `progress` when it is a terminal of its own. */
  err?: ByteWriter;
  progress?: boolean;
}

/** Runs one job through an entry host (or an embedded one) and returns the exit code. */
export async function runPi(request: PiJobInput, options: RunPiOptions): Promise<number> {
  const out = options.out ?? Deno.stdout;
  const err = options.err ?? Deno.stderr;
  const progress = options.progress ?? (Deno.stderr.isTerminal() && !Deno.stdout.isTerminal());
  const requestMs = (options.timeout ?? 30) * 1000;
  // The host's bundle leaves this command's modules outside (scripts/host_bundle.ts).
  return await withEntryOrEmbedded({ ...options, quiet: options.json, hostBundle: true }, async (client) => {
    const { id } = await client.createAgent({ type: "examples.pi.coordinator" });
    // Ctrl-C (cli/signals.ts): the job is cancelled, and what it computed is written and reported
    // below before the command exits 130.
    const reported = Promise.withResolvers<void>();
    const unregister = whileRunning({
      end: async () => {
        await client.send(id, { kind: "pi.cancel" }, { timeoutMs: 5000 }).catch(() => {});
        await reported.promise;
      },
    });
    try {
      await client.send(id, { kind: "pi.start_async", args: { ...request } }, {
        timeoutMs: requestMs,
      }) as PiStartReply;
      const last = await drain(
        client,
        id,
        requestMs,
        options.json ? undefined : out,
        progress ? err : undefined,
      );
      const summary = await client.send(id, { kind: "pi.summary", args: {} }, {
        timeoutMs: requestMs,
      }) as PiSummary;
      if (options.json) {
        await write(out, JSON.stringify(summary, null, 2) + "\n");
      } else if (summary.status === "done") {
        await write(out, "\n");
      }
      if (summary.status !== "done") {
        // The digits that became certain before the end stay where they went: --output, stdout.
        const digits = `${last.digitsEmitted} digit${last.digitsEmitted === 1 ? "" : "s"}`;
        const kept = summary.outputPath
          ? ` (${digits} kept in ${summary.outputPath})`
          : options.json
          ? ` (${digits} computed; --json printed only the summary)`
          : ` (${digits} kept: printed above)`;
        const why = summary.error ?? summary.status;
        if (!options.json) await write(out, "\n");
        await write(err, `error [pi_job_${summary.status}]: Pi job ${summary.jobId} ${why}${kept}\n`);
        return 1;
      }
      return 0;
    } finally {
      await client.dispose(id).catch(() => {});
      unregister();
      reported.resolve();
    }
  });
}

/** Long-polls the job until it ends, writing its digits; returns the last counters. */
async function drain(
  client: HostClient,
  id: string,
  requestMs: number,
  out: RunPiOptions["out"],
  progress: RunPiOptions["err"],
): Promise<PiProgress> {
  const waitMs = Math.max(100, Math.min(1000, requestMs / 2));
  let shown = 0;
  while (true) {
    // As bytes in a CBOR answer: a million digits pass no text conversion or JSON on the way.
    const reply = await client.send(id, { kind: "pi.drain_stream", args: { waitMs, as: "bytes" } }, {
      timeoutMs: requestMs,
      binary: true,
    }) as PiDrainReply;
    // A host whose coordinator knows no `as` answers text.
    const digits = reply.bytes ?? (reply.text ? encoder.encode(reply.text) : undefined);
    if (out && digits?.length) await writeAll(out, digits);
    if (progress) shown = await showProgress(progress, reply.progress, shown);
    if (reply.progress.status !== "running") {
      if (progress && shown) await write(progress, "\n");
      return reply.progress;
    }
  }
}

async function showProgress(
  err: NonNullable<RunPiOptions["err"]>,
  p: PiProgress,
  shown: number,
): Promise<number> {
  const line = `pi: ${groupThousands(p.digitsEmitted)}/${groupThousands(p.digits)} digits · batches ` +
    `${p.batchesDone}/${p.batches} (${p.batchesRunning} running) · hosts ${p.hostsUsed} · retries ${p.retries}` +
    ` · ${(p.elapsedMs / 1000).toFixed(1)} s`;
  await write(err, `\r${line.padEnd(shown)}`);
  return line.length;
}

const encoder = new TextEncoder();

function write(to: ByteWriter, text: string): Promise<void> {
  return writeAll(to, encoder.encode(text));
}

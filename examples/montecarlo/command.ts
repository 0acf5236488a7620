/**
 * `paglets examples montecarlo`: Pi by Monte Carlo batches on the mesh's leased cores (an embedded
 * host when no mesh answers), printed as the seed's report, or as JSON with `--json`.
 *
 * @module
 */
import type { Command } from "../../cli/command.ts";
import { PagletError } from "../../agents/errors.ts";
import { ensureCommand } from "../../services/cli_support.ts";
import { withEntryOrEmbedded } from "../../cli/entry.ts";
import { whileRunning } from "../../cli/signals.ts";
import { interrupt } from "../../agents/interruption.ts";
import { MAX_SAMPLES_PER_BATCH } from "./estimate.ts";
import { estimatePi, formatReport, type MonteCarloRun } from "./montecarlo.ts";

interface MonteCarloOptions {
  batches: string;
  samples: string;
  seed?: string;
  executors?: string;
  tag?: string[];
  json?: boolean;
  entry?: string;
  apiKeyEnv?: string;
}

function integer(text: string, option: string, min: number, max: number): number {
  const value = text.trim() === "" ? NaN : Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new PagletError(
      "invalid_request",
      `${option} must be a whole number from ${min} to ${
        max.toLocaleString("en")
      }: current value is '${text}'`,
    );
  }
  return value;
}

/** Validates the options at the boundary. */
export function parseRun(o: MonteCarloOptions): MonteCarloRun {
  return {
    batches: integer(o.batches, "--batches", 1, 1_000_000),
    samplesPerBatch: integer(o.samples, "--samples", 1, MAX_SAMPLES_PER_BATCH),
    seed: o.seed === undefined
      ? crypto.getRandomValues(new Uint32Array(1))[0]
      : integer(o.seed, "--seed", 0, 2 ** 32 - 1),
  };
}

export function registerMonteCarloCommand(program: Command): void {
  const examples = ensureCommand(program, "examples", "Example jobs that run on the mesh");
  examples.command("montecarlo")
    .description(
      "Pi by Monte Carlo batches run as Runner tasks on leased cores (an embedded host without a mesh)",
    )
    .option("--batches <n>", "number of batches (tasks)", "10")
    .option("--samples <n>", "random points per batch", "1000000")
    .option("--seed <n>", "seed (0..2^32-1) for a reproducible run; default: random, printed")
    .option("--executors <n>", "executors (leased cores) in all; default: the hosts' CPU count")
    .option("--tag <tag...>", "only hosts with these tags run batches")
    .option("--json", "print the report as JSON")
    .option("-e, --entry <name|url>", "host to talk to (default: $PAGLETS_ENTRY or http://127.0.0.1:8765)")
    .option("--api-key-env <name>", "environment variable holding the API key")
    .action(async (o: MonteCarloOptions) => {
      const run = parseRun(o);
      const executors = o.executors === undefined ? undefined : integer(o.executors, "--executors", 1, 4096);
      await withEntryOrEmbedded(
        { entry: o.entry, apiKeyEnv: o.apiKeyEnv, quiet: o.json },
        async (client, embedded) => {
          // Ctrl-C: the Runner disposes its executors (their cores free at once) before the end.
          const unregister = whileRunning({ end: interrupt });
          try {
            const report = await estimatePi(run, {
              entry: client.baseUrl,
              apiKey: client.headers().authorization?.replace(/^Bearer /, "") ?? null,
              ...(embedded ? { transport: (request: Request) => embedded.handle(request) } : {}),
              ...(executors ? { executors } : {}),
              ...(o.tag?.length ? { tags: o.tag } : {}),
            }, !o.json);
            console.log(o.json ? JSON.stringify(report, null, 2) : formatReport(report));
          } finally {
            unregister();
          }
        },
      );
    });
}

/** `paglets jobs history [--all-hosts]`: finished jobs with their measured usage. */
import type { Command } from "../../../cli/command.ts";
import { formatBytes } from "../../../cli/output.ts";
import { numberOption } from "../../../cli/number_option.ts";
import { localTime } from "../../../cli/times.ts";
import { cpus, type JobsOptions, jobsViewCommand, printStatusView } from "./common.ts";

export function registerHistoryCommand(jobs: Command): void {
  jobsViewCommand(jobs, "history", "Finished jobs with their measured usage (newest last)")
    .option(
      "--limit <n>",
      "at most this many per host (0 = all kept)",
      numberOption("--limit", { integer: true }),
      20,
    )
    .action(async (o: JobsOptions & { limit: number }) => {
      await printStatusView(o, {
        includeQueue: false,
        includeLeases: false,
        includeHistory: true,
        historyLimit: o.limit,
      }, {
        items: (reply) => reply.finishedUsage ?? [],
        row: (h) => ({
          job: h.jobId,
          agent: h.agentId,
          cpus: cpus(h.cpuIds),
          reason: h.finishReason,
          runtime: `${h.runtimeSeconds.toFixed(2)}s`,
          cpu: `${h.maxCpuPercent.toFixed(0)}%`,
          rss: formatBytes(h.maxRssBytes),
          work: formatBytes(h.maxWorkDirBytes),
          declared: `${h.cpuCores} cores, ${formatBytes(h.memoryBytes)}`,
          finished: localTime(h.finishedAt),
        }),
        columns: [
          "job",
          "agent",
          ["cpus", "cpu ids"],
          "reason",
          "runtime",
          ["cpu", "max cpu%"],
          ["rss", "max rss"],
          ["work", "max work dir"],
          "declared",
          "finished",
        ],
        empty: (where) => `No finished job on ${where} yet.`,
      });
    });
}

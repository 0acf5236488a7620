/** `paglets jobs history`: finished jobs with their measured usage. */
import type { Command } from "commander";
import { formatBytes, printJson, printTable } from "../../../cli/output.ts";
import { count, cpus, jobsCommand, type JobsOptions, status } from "./common.ts";

export function registerHistoryCommand(jobs: Command): void {
  jobsCommand(jobs, "history", "Finished jobs with their measured usage (newest last)")
    .option("--limit <n>", "at most this many (0 = all kept)", count("--limit"), 20)
    .action(async (o: JobsOptions & { limit: number }) => {
      const reply = await status(o, {
        includeQueue: false,
        includeLeases: false,
        includeHistory: true,
        historyLimit: o.limit,
      });
      const history = reply.finishedUsage ?? [];
      if (o.json) return printJson(history);
      if (!history.length) return console.log(`No finished job on ${reply.host.hostName} yet.`);
      printTable(
        history.map((h) => ({
          job: h.jobId,
          agent: h.agentId,
          cpus: cpus(h.cpuIds),
          reason: h.finishReason,
          runtime: `${h.runtimeSeconds.toFixed(2)}s`,
          cpu: `${h.maxCpuPercent.toFixed(0)}%`,
          rss: formatBytes(h.maxRssBytes),
          work: formatBytes(h.maxWorkDirBytes),
          declared: `${h.cpuCores} cores, ${formatBytes(h.memoryBytes)}`,
          finished: new Date(h.finishedAt).toISOString().replace("T", " ").slice(0, 19),
        })),
        [
          "job",
          "agent",
          ["cpus", "cpu ids"],
          "reason",
          "runtime",
          ["cpu", "max cpu%"],
          ["rss", "max rss"],
          [
            "work",
            "max work dir",
          ],
          "declared",
          "finished",
        ],
      );
    });
}

/** `paglets jobs queue`: requests waiting for a slot on the entry host, oldest first. */
import type { Command } from "commander";
import { formatBytes, printJson, printTable } from "../../../cli/output.ts";
import { ago, jobsCommand, type JobsOptions, status } from "./common.ts";

export function registerQueueCommand(jobs: Command): void {
  jobsCommand(jobs, "queue", "Requests waiting for a slot, oldest first")
    .action(async (o: JobsOptions) => {
      const reply = await status(o, { includeQueue: true, includeLeases: false });
      if (o.json) return printJson(reply.queue ?? []);
      if (!reply.queue?.length) return console.log(`No request waits on ${reply.host.hostName}.`);
      printTable(
        reply.queue.map((q) => ({
          pos: q.position,
          request: q.request.requestId,
          agent: q.request.agentId,
          job: q.request.jobId,
          cores: q.request.cpuCores,
          mem: formatBytes(q.request.memoryBytes),
          temp: formatBytes(q.request.tempStorageBytes),
          est: `${q.request.estimatedRuntimeSeconds}s`,
          waiting: ago(q.enqueuedAt),
          redirects: q.request.redirectCount,
        })),
        [
          "pos",
          "request",
          "agent",
          "job",
          "cores",
          "mem",
          "temp",
          ["est", "est. runtime"],
          "waiting",
          "redirects",
        ],
      );
    });
}

/** `paglets jobs queue [--all-hosts]`: requests waiting for a slot, oldest first. */
import type { Command } from "../../../cli/command.ts";
import { formatBytes } from "../../../cli/output.ts";
import { elapsedSince } from "../../../cli/times.ts";
import { type JobsOptions, jobsViewCommand, printStatusView } from "./common.ts";

export function registerQueueCommand(jobs: Command): void {
  jobsViewCommand(jobs, "queue", "Requests waiting for a slot, oldest first")
    .action(async (o: JobsOptions) => {
      await printStatusView(o, { includeQueue: true, includeLeases: false }, {
        items: (reply) => reply.queue ?? [],
        row: (q) => ({
          pos: q.position,
          request: q.request.requestId,
          agent: q.request.agentId,
          job: q.request.jobId,
          cores: q.request.cpuCores,
          mem: formatBytes(q.request.memoryBytes),
          temp: formatBytes(q.request.tempStorageBytes),
          est: `${q.request.estimatedRuntimeSeconds}s`,
          waiting: elapsedSince(q.enqueuedAt),
          redirects: q.request.redirectCount,
        }),
        columns: [
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
        empty: (where) => `No request waits on ${where}.`,
      });
    });
}

/** `paglets jobs top [--all-hosts]`: leases with their CPU masks and measured usage. */
import type { Command } from "../../../cli/command.ts";
import { formatBytes } from "../../../cli/output.ts";
import { elapsedSince, formatDuration } from "../../../cli/times.ts";
import { cpus, type JobsOptions, jobsViewCommand, printStatusView } from "./common.ts";

export function registerTopCommand(jobs: Command): void {
  jobsViewCommand(jobs, "top", "Leases with their CPU masks and measured usage")
    .action(async (o: JobsOptions) => {
      await printStatusView(o, { includeQueue: false, includeLeases: true, includeUsage: true }, {
        items: (reply) => reply.leases ?? [],
        json: (reply) => ({ leases: reply.leases ?? [], usage: reply.activeUsage ?? [] }),
        row: (l, reply) => {
          const u = (reply.activeUsage ?? []).find((a) => a.leaseId === l.leaseId);
          return {
            lease: l.leaseId,
            agent: l.agentId,
            job: l.jobId,
            cpus: cpus(l.cpuIds),
            mask: l.mask ? cpus(l.mask) : "-",
            state: l.running ? "running" : "granted",
            cpu: u?.lastSample ? `${u.lastSample.cpuPercent.toFixed(0)}%` : "-",
            rss: u?.lastSample ? formatBytes(u.lastSample.rssBytes) : "-",
            work: u?.lastSample ? formatBytes(u.lastSample.workDirBytes) : "-",
            age: elapsedSince(l.grantedAt),
            expires: formatDuration((l.expiresAt - Date.now()) / 1000),
          };
        },
        columns: [
          "lease",
          "agent",
          "job",
          ["cpus", "cpu ids"],
          ["mask", "mask now"],
          "state",
          ["cpu", "cpu%"],
          ["rss", "process rss"],
          ["work", "work dir"],
          "age",
          ["expires", "expires in"],
        ],
        empty: (where) => `No lease on ${where}.`,
      });
    });
}

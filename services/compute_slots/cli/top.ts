/** `paglets jobs top`: leases with their CPU masks and measured usage. */
import type { Command } from "commander";
import { formatBytes, printJson, printTable } from "../../../cli/output.ts";
import { formatDuration } from "../../cli_support.ts";
import { ago, cpus, jobsCommand, type JobsOptions, status } from "./common.ts";

export function registerTopCommand(jobs: Command): void {
  jobsCommand(jobs, "top", "Leases with their CPU masks and measured usage")
    .action(async (o: JobsOptions) => {
      const reply = await status(o, { includeQueue: false, includeLeases: true, includeUsage: true });
      if (o.json) return printJson({ leases: reply.leases ?? [], usage: reply.activeUsage ?? [] });
      const usage = new Map((reply.activeUsage ?? []).map((u) => [u.leaseId, u]));
      if (!reply.leases?.length) return console.log(`No lease on ${reply.host.hostName}.`);
      printTable(
        reply.leases.map((l) => {
          const u = usage.get(l.leaseId);
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
            age: ago(l.grantedAt),
            expires: formatDuration((l.expiresAt - Date.now()) / 1000),
          };
        }),
        [
          "lease",
          "agent",
          "job",
          ["cpus", "cpu ids"],
          ["mask", "mask now"],
          "state",
          ["cpu", "cpu%"],
          [
            "rss",
            "process rss",
          ],
          ["work", "work dir"],
          "age",
          ["expires", "expires in"],
        ],
      );
    });
}

/** `paglets jobs why`: what each waiting request waits for. */
import type { Command } from "commander";
import { pc, printJson, printTable } from "../../../cli/output.ts";
import { whyWaiting } from "../why.ts";
import { jobsCommand, type JobsOptions, status } from "./common.ts";

export function registerWhyCommand(jobs: Command): void {
  jobsCommand(jobs, "why", "What each waiting request waits for (cpu, memory, temp-storage, load, ...)")
    .action(async (o: JobsOptions) => {
      const reply = await status(o, { includeQueue: true, includeLeases: false });
      const rows = whyWaiting(reply.host, (reply.queue ?? []).map((q) => q.request), reply.settings);
      if (o.json) return printJson(rows);
      if (!rows.length) return console.log(`No request waits on ${reply.host.hostName}.`);
      printTable(
        rows.map((r) => ({
          pos: r.position,
          request: r.requestId,
          job: r.jobId,
          cores: r.cpuCores,
          why: r.grantable
            ? pc.green("grantable")
            : r.blockers.map((b) => `${b.kind}: ${b.detail}`).join("; "),
          cooldown: r.redirectCooldownLeftMs > 0 ? `${Math.ceil(r.redirectCooldownLeftMs / 1000)}s` : "-",
        })),
        ["pos", "request", "job", "cores", ["why", "blockers"], ["cooldown", "redirect cooldown"]],
      );
    });
}

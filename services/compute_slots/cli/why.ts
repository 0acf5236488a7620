/** `paglets jobs why [--all-hosts]`: what each waiting request waits for. */
import type { Command } from "../../../cli/command.ts";
import { pc } from "../../../cli/output.ts";
import { whyWaiting } from "../why.ts";
import { type JobsOptions, jobsViewCommand, printStatusView } from "./common.ts";

export function registerWhyCommand(jobs: Command): void {
  jobsViewCommand(jobs, "why", "What each waiting request waits for (cpu, memory, temp-storage, load, ...)")
    .action(async (o: JobsOptions) => {
      await printStatusView(o, { includeQueue: true, includeLeases: false }, {
        items: (reply) => whyWaiting(reply.host, (reply.queue ?? []).map((q) => q.request), reply.settings),
        row: (r) => ({
          pos: r.position,
          request: r.requestId,
          job: r.jobId,
          cores: r.cpuCores,
          why: r.grantable
            ? pc.green("grantable")
            : r.blockers.map((b) => `${b.kind}: ${b.detail}`).join("; "),
          cooldown: r.redirectCooldownLeftMs > 0 ? `${Math.ceil(r.redirectCooldownLeftMs / 1000)}s` : "-",
        }),
        columns: ["pos", "request", "job", "cores", ["why", "blockers"], ["cooldown", "redirect cooldown"]],
        empty: (where) => `No request waits on ${where}.`,
      });
    });
}

/**
 * `paglets jobs status|queue|why|top|ps|history|hosts|rm|groups`: compute-slots of the entry host (and,
 * for `ps` and `status` with `--all-hosts`, of every online host). Every command takes `--json`.
 *
 * @module
 */
import type { Command } from "../../cli/command.ts";
import { registerStatusCommand } from "./cli/status.ts";
import { registerQueueCommand } from "./cli/queue.ts";
import { registerWhyCommand } from "./cli/why.ts";
import { registerTopCommand } from "./cli/top.ts";
import { registerPsCommand } from "./cli/ps.ts";
import { registerHistoryCommand } from "./cli/history.ts";
import { registerHostsCommand } from "./cli/hosts.ts";
import { registerRmCommand } from "./cli/rm.ts";
import { registerGroupsCommand } from "./cli/groups.ts";

export function registerJobsCommands(program: Command): void {
  const jobs = program.command("jobs").description(
    "Compute jobs and the compute-slots scheduler: status, queue, why, top, ps, history, hosts, rm, groups",
  );
  registerStatusCommand(jobs);
  registerQueueCommand(jobs);
  registerWhyCommand(jobs);
  registerTopCommand(jobs);
  registerPsCommand(jobs);
  registerHistoryCommand(jobs);
  registerHostsCommand(jobs);
  registerRmCommand(jobs);
  registerGroupsCommand(jobs);
}

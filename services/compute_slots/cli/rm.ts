/** `paglets jobs rm`: cancel waiting jobs (remove their queued requests, dispose them). */
import type { Command } from "../../../cli/command.ts";
import { PagletError } from "../../../agents/errors.ts";
import { withEntry } from "../../../cli/entry.ts";
import { pc, printJson, printTable } from "../../../cli/output.ts";
import { ServiceClient } from "../../client.ts";
import { Cancel, Jobs, type JobsReply } from "../contract.ts";
import { collect, computeState, jobsCommand, type JobsOptions, NAME } from "./common.ts";

export function registerRmCommand(jobs: Command): void {
  jobsCommand(jobs, "rm", "Cancel waiting jobs: remove their queued requests and dispose them")
    .option("--job <id>", "this job id (repeatable)", collect, [])
    .option("--agent <id>", "this agent id (repeatable)", collect, [])
    .option("--all", "every job in --state")
    .option("--state <state>", "jobs in this computeStatus (never RUNNING)", computeState, "WAITING_FOR_SLOT")
    .option("-n, --dry-run", "only show what would be removed")
    .option("-f, --force", "do not ask")
    .action(async (
      o: JobsOptions & {
        job: string[];
        agent: string[];
        all?: boolean;
        state: string;
        dryRun?: boolean;
        force?: boolean;
      },
    ) => {
      const state = o.state.toUpperCase();
      if (state === "RUNNING") {
        throw new PagletError(
          "invalid_request",
          "jobs rm never removes RUNNING jobs; dispose the agent instead",
        );
      }
      if (!o.all && o.job.length === 0 && o.agent.length === 0) {
        throw new PagletError("invalid_request", "Name what to remove: --job ID, --agent ID or --all");
      }
      await withEntry(o, async (entry) => {
        const services = new ServiceClient(entry);
        const listed: JobsReply = await services.call(NAME, Jobs, {
          states: [state],
          jobIds: o.job,
          agentIds: o.agent,
        });
        // A job moving between hosts is held here until its move settles: a dispose would fail (or
        // find it gone) while it lives on where it arrives.
        const victims = listed.jobs.filter((j) => j.computeStatus !== "RUNNING" && j.status !== "moving");
        // Jobs named by id that are here in another state, or moving: say so, instead of "no job
        // matches" (named ones are listed whatever their state, the moving ones among them).
        const skipped = o.job.length + o.agent.length === 0
          ? listed.jobs.filter((j) => j.status === "moving")
          : (await services.call(NAME, Jobs, { jobIds: o.job, agentIds: o.agent }))
            .jobs.filter((j) => !victims.some((v) => v.agentId === j.agentId));
        for (const j of o.json ? [] : skipped) {
          console.error(
            `${pc.yellow("skipped")} ${j.jobId} (${j.agentId}): ` +
              (j.status === "moving"
                ? "moving between hosts; remove it where it arrives (jobs ps --all-hosts)"
                : `${j.computeStatus}, not ${state}` +
                  (j.computeStatus === "RUNNING" ? `; end it with 'paglets agents rm ${j.agentId}'` : "")),
          );
        }
        if (o.dryRun || victims.length === 0) {
          if (o.json) return printJson({ dryRun: !!o.dryRun, jobs: victims, removed: [], skipped });
          if (!victims.length) return console.log("No job matches.");
          printTable(victims, [
            ["agentId", "agent"],
            ["jobId", "job"],
            ["computeStatus", "compute"],
            "status",
          ]);
          return console.log(pc.dim(`dry run: ${victims.length} job(s) would be removed`));
        }
        if (!o.force) {
          if (!Deno.stdin.isTerminal()) {
            throw new PagletError(
              "invalid_request",
              `Removing ${victims.length} job(s) asks for a yes on a terminal, and stdin is not one: ` +
                "pass --force to remove without asking",
            );
          }
          // Declining is the user's answer, not a mistake: nothing done, exit 1.
          if (!confirmed(`Remove ${victims.length} job(s) from ${listed.hostName}?`)) {
            if (o.json) printJson({ dryRun: false, jobs: victims, removed: [], skipped });
            else console.log("Nothing removed.");
            Deno.exitCode = 1;
            return;
          }
        }
        const cancelled = await services.call(NAME, Cancel, { agentIds: victims.map((v) => v.agentId) });
        const removed: string[] = [];
        const failed: { agentId: string; error: string }[] = [];
        for (const v of victims) {
          try {
            await entry.dispose(v.agentId);
            removed.push(v.agentId);
          } catch (err) {
            failed.push({ agentId: v.agentId, error: PagletError.from(err).message });
          }
        }
        if (o.json) {
          return printJson({
            dryRun: false,
            jobs: victims,
            removed,
            failed,
            skipped,
            cancelledRequests: cancelled.cancelledRequests.length,
          });
        }
        console.log(
          `removed ${removed.length} job(s); ${cancelled.cancelledRequests.length} queued request(s) cancelled`,
        );
        for (const f of failed) console.error(`${pc.red("error")} ${f.agentId}: ${f.error}`);
        if (failed.length) Deno.exitCode = 1;
      });
    });
}

/** Asks on the terminal (stdin is one); yes or y only. */
function confirmed(question: string): boolean {
  const answer = prompt(`${question} [y/N]`);
  return answer !== null && /^y(es)?$/i.test(answer.trim());
}

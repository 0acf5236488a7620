/** `paglets jobs ps`: compute jobs (agents with a computeStatus) of one host or every online host. */
import type { Command } from "../../../cli/command.ts";
import { withEntry } from "../../../cli/entry.ts";
import { printJson, printTable, wrap } from "../../../cli/output.ts";
import { fanOut, reportFailures, targetHosts } from "../../cli_support.ts";
import { Jobs } from "../contract.ts";
import { ago } from "../../../cli/times.ts";
import {
  collect,
  computeState,
  cpus,
  entryReply,
  jobsCommand,
  type JobsOptions,
  NAME,
  perHostJson,
} from "./common.ts";

export function registerPsCommand(jobs: Command): void {
  jobsCommand(jobs, "ps", "Compute jobs on the host (agents with a computeStatus)")
    .option("--active", "only active jobs")
    .option("--inactive", "only inactive (sleeping) jobs")
    .option("--job <id>", "only this job id (repeatable)", collect, [])
    .option("--agent <id>", "only this agent id (repeatable)", collect, [])
    .option(
      "--state <state>",
      "only this computeStatus, e.g. RUNNING (repeatable)",
      (value: string, previous: string[]) => [...previous, computeState(value)],
      [],
    )
    .option("--class <type>", "only this paglet type (repeatable)", collect, [])
    .option("--all-hosts", "every online host of the mesh (in parallel)")
    .action(async (
      o: JobsOptions & {
        active?: boolean;
        inactive?: boolean;
        job: string[];
        agent: string[];
        state: string[];
        class: string[];
        allHosts?: boolean;
      },
    ) => {
      const filter = {
        status: o.active && !o.inactive ? "active" : o.inactive && !o.active ? "inactive" : "all",
        jobIds: o.job,
        agentIds: o.agent,
        states: o.state,
        types: o.class,
      } as const;
      const results = await withEntry(o, async (entry) => {
        const hosts = await targetHosts(entry, !!o.allHosts);
        return await fanOut(hosts, o, (s) => s.call(NAME, Jobs, filter));
      });
      // The entry alone: its failure is the command's error, with nothing on stdout.
      if (!o.allHosts) entryReply(results);
      const rows = results.flatMap((r) =>
        r.ok ? r.reply.jobs.map((j) => ({ host: r.reply.hostName, ...j })) : []
      );
      if (o.json) printJson(o.allHosts ? perHostJson(results, (reply) => reply.jobs) : rows);
      else if (rows.length === 0) {
        if (results.some((r) => r.ok)) console.log("No compute job matches.");
      } else {
        printTable(
          rows.map((j) => ({
            ...j,
            cpus: cpus(j.cpuCoreIds),
            // A job that computed but could not report is as stuck as one that failed (and a failed
            // one whose failure never reached its collector says both); one whose driver retries
            // says why until it gets through or gives up.
            error: wrap(
              [j.computeError, reportGaveUp(j.reportError)].filter(Boolean).join("; ") ||
                (j.driverRetries > 0 ? `retrying: ${j.driverError}` : ""),
              60,
            ),
            updated: ago(j.updatedAt),
          })),
          [
            "host",
            ["agentId", "agent"],
            "type",
            "status",
            ["jobId", "job"],
            ["computeStatus", "compute"],
            [
              "cpuCores",
              "cores",
            ],
            "cpus",
            ["redirectCount", "redirects"],
            ["driverRetries", "retries"],
            "updated",
            "error",
          ],
        );
      }
      reportFailures(results);
    });
}

/**
 * A group job's report given up, as the table says it (a state stored before the give-up named its
 * attempts holds only the last error).
 */
function reportGaveUp(reportError: string): string {
  if (!reportError) return "";
  return reportError.startsWith("report gave up") ? reportError : `report gave up: ${reportError}`;
}

/**
 * `paglets jobs groups [--group ID]`: job groups of the whole mesh, as their collectors record them
 * (every online host is asked through the entry host; sleeping collectors are read, not woken).
 */
import type { Command } from "../../../cli/command.ts";
import { PagletError } from "../../../agents/errors.ts";
import { withEntry } from "../../../cli/entry.ts";
import { pc, printJson, printTable } from "../../../cli/output.ts";
import type { GroupSummary } from "../../../agents/job_groups/contract.ts";
import { ServiceClient } from "../../client.ts";
import { Groups } from "../contract.ts";
import { collect, jobsCommand, type JobsOptions, NAME } from "./common.ts";
import { ago, localTime } from "../../../cli/times.ts";

/** `12/20 ███████░░░ 60%` (done = results + failures). */
export function progressText(g: GroupSummary, width = 10): string {
  const done = g.completedCount + g.failedCount;
  const share = g.expectedCount ? done / g.expectedCount : 0;
  const filled = Math.round(share * width);
  return `${done}/${g.expectedCount} ${"█".repeat(filled)}${"░".repeat(width - filled)} ${
    Math.round(share * 100)
  }%`;
}

function details(g: GroupSummary): void {
  console.log(
    `\n${pc.bold(g.groupId)}: ${g.status}, collector ${g.collector.agentId} on ${g.collector.hostName}`,
  );
  if (g.returnHomeWhenComplete) {
    console.log(
      `  returns home to ${g.home.hostName || g.home.hostUrl}${
        g.returnHomeError ? ` (${g.returnHomeError})` : ""
      }`,
    );
  }
  if (g.submissionStatus === "SUBMITTING") {
    console.log(
      `  submission under way: given up at ${
        localTime(g.submissionDeadlineAt)
      } unless the submitter registers more jobs`,
    );
  }
  if (g.submissionStatus === "CUT_SHORT") {
    console.log("  submission cut short: the jobs it never created failed at stage create");
  }
  if (g.pendingJobs.length) console.log(`  pending: ${g.pendingJobs.join(", ")}`);
  for (const [key, f] of Object.entries(g.failures)) {
    console.log(`  ${pc.red("failed")} ${key}${f.stage ? ` (${f.stage})` : ""}: ${f.error ?? ""}`);
  }
  for (const d of g.duplicateReports) {
    console.log(
      `  duplicate ${d.kind} for ${d.report.jobKey} from ${d.report.hostName || d.report.agentId || "?"}`,
    );
  }
}

export function registerGroupsCommand(jobs: Command): void {
  jobsCommand(jobs, "groups", "Job groups of the mesh and their progress, from their collectors")
    .option("--group <id>", "only this group, with its pending jobs, failures and duplicates")
    .option("--collector-type <type>", "also collectors of this paglet type (repeatable)", collect, [])
    .action(async (o: JobsOptions & { group?: string; collectorType: string[] }) => {
      const request = { groupId: o.group ?? "", allHosts: true, collectorTypes: o.collectorType };
      const reply = await withEntry(
        o,
        (client) => new ServiceClient(client).call(NAME, Groups, request),
      );
      for (const e of reply.errors) {
        console.error(`${pc.red("error")} ${e.hostName} (${e.hostUrl}) [${e.code}]: ${e.message}`);
      }
      // A named group nobody has is an error (nothing on stdout, with --json too).
      if (o.group && !reply.groups.length) {
        const unanswered = reply.errors.length ? ` (${reply.errors.length} host(s) did not answer)` : "";
        throw new PagletError("not_found", `No group '${o.group}' in the mesh${unanswered}`);
      }
      if (o.json) return printJson(reply.groups);
      if (!reply.groups.length) return console.log("No job group in the mesh.");
      printTable(
        reply.groups.map((g) => ({
          ...g,
          progress: progressText(g),
          collectorAt: g.collector.hostName,
          created: ago(g.createdAt),
        })),
        [
          ["groupId", "group"],
          "status",
          "progress",
          ["completedCount", "results"],
          ["failedCount", "failures"],
          ["pendingCount", "pending"],
          ["duplicateCount", "duplicates"],
          ["collectorAt", "collector on"],
          "created",
        ],
      );
      if (o.group) { for (const g of reply.groups) details(g); }
    });
}

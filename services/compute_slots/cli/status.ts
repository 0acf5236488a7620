/** `paglets jobs status [--all-hosts]`: capacity, reservations and counters, one row per host. */
import type { Command } from "../../../cli/command.ts";
import { withEntry } from "../../../cli/entry.ts";
import { formatBytes, printJson, printTable } from "../../../cli/output.ts";
import { fanOut, fixed, targetHosts } from "../../cli_support.ts";
import { Status, type StatusReply } from "../contract.ts";
import { entryReply, jobsCommand, type JobsOptions, NAME, perHostJson } from "./common.ts";
import { reportFailures } from "../../cli_support.ts";

export function registerStatusCommand(jobs: Command): void {
  jobsCommand(jobs, "status", "Capacity, reservations and counters of the scheduler")
    .option("--all-hosts", "every online host of the mesh (in parallel)")
    .action(async (o: JobsOptions & { allHosts?: boolean }) => {
      const results = await withEntry(o, async (entry) => {
        const hosts = await targetHosts(entry, !!o.allHosts);
        return await fanOut(
          hosts,
          o,
          (s) => s.call(NAME, Status, { includeQueue: false, includeLeases: false }),
        );
      });
      // The entry alone: its failure is the command's error, with nothing on stdout.
      if (!o.allHosts) {
        const reply = entryReply(results);
        if (o.json) return printJson(reply);
      }
      const rows = results.flatMap((r) => r.ok ? [statusRow(r.reply)] : []);
      if (o.json) printJson(perHostJson(results, (reply) => reply));
      else if (rows.length) {
        printTable(
          rows,
          [
            "host",
            ["cores", "cores free/eligible"],
            "reserved",
            ["mem", "mem free"],
            ["temp", "temp free"],
            "queue",
            "leases",
            ["load", "load/cpu"],
            ["others", "others' cores"],
            "affinity",
            ["done", "steps ok/failed"],
          ],
        );
      }
      reportFailures(results);
    });
}

function statusRow(r: StatusReply): Record<string, unknown> {
  const h = r.host;
  return {
    host: h.hostName,
    cores: `${h.freeCpuCores}/${h.eligibleCpuIds.length}`,
    reserved: h.reservedCpuCores,
    mem: formatBytes(h.freeMemoryBytes),
    temp: formatBytes(h.freeTempStorageBytes),
    queue: h.queueLength,
    leases: h.activeLeases,
    load: fixed(h.loadPerCpu),
    others: h.otherCpuBusy === undefined ? "-" : fixed(h.otherCpuBusy),
    affinity: h.affinitySupported
      ? (r.settings.elasticAffinity ? "pinned, elastic" : "pinned")
      : `unsupported${r.settings.affinityError ? `: ${r.settings.affinityError}` : ""}`,
    done: `${r.counters.stepsSucceeded}/${r.counters.stepsFailed}`,
  };
}

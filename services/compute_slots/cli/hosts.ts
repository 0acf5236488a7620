/** `paglets jobs hosts`: hosts that could run a job with given needs, best first. */
import type { Command } from "../../../cli/command.ts";
import { withEntry } from "../../../cli/entry.ts";
import { pc, printJson, printTable } from "../../../cli/output.ts";
import { ServiceClient } from "../../client.ts";
import { CandidateHosts, type CandidateHostsReply } from "../contract.ts";
import { numberOption } from "../../../cli/number_option.ts";
import { collect, jobsCommand, type JobsOptions, NAME, size } from "./common.ts";

export function registerHostsCommand(jobs: Command): void {
  jobsCommand(jobs, "hosts", "Hosts that could run a job with these needs, best first")
    .option(
      "--limit <n>",
      "at most this many candidates (0 = all)",
      numberOption("--limit", { integer: true }),
      5,
    )
    .option("--cores <n>", "CPU cores (at least 1)", numberOption("--cores", { integer: true, min: 1 }), 1)
    .option("--mem <size>", "memory, e.g. 2G", size, 0)
    .option("--disk <size>", "temp storage in the work dir, e.g. 10G", size, 0)
    .option("--gpu", "needs a GPU (no host admits GPU jobs yet)")
    .option("--gpu-memory <mb>", "GPU memory in MB", numberOption("--gpu-memory", { integer: true }), 0)
    .option("--tag <tag>", "required host tag (repeatable)", collect, [])
    .option("--prefer-tag <tag>", "preferred host tag (repeatable)", collect, [])
    .option("--exclude-tag <tag>", "never hosts with this tag (repeatable)", collect, [])
    .option("--exclude-host <name|url>", "never this host (repeatable)", collect, [])
    .action(async (
      o: JobsOptions & {
        limit: number;
        cores: number;
        mem: number;
        disk: number;
        gpu?: boolean;
        gpuMemory: number;
        tag: string[];
        preferTag: string[];
        excludeTag: string[];
        excludeHost: string[];
      },
    ) => {
      const reply: CandidateHostsReply = await withEntry(
        o,
        (client) =>
          new ServiceClient(client).call(NAME, CandidateHosts, {
            limit: o.limit,
            request: {
              agentId: "cli-probe",
              cpuCores: o.cores,
              memoryBytes: o.mem,
              tempStorageBytes: o.disk,
              requiresGpu: !!o.gpu,
              gpuMemoryMb: o.gpuMemory,
              requiredHostTags: o.tag,
              preferredHostTags: o.preferTag,
              excludedHostTags: o.excludeTag,
              excludedHostNames: o.excludeHost.filter((h) => !/[:/]/.test(h)),
              excludedHostUrls: o.excludeHost.filter((h) => /[:/]/.test(h)),
            },
          }),
      );
      if (reply.candidates.length === 0) Deno.exitCode = 1;
      if (o.json) return printJson(reply);
      if (reply.candidates.length) {
        printTable(
          reply.candidates.map((c, i) => ({
            rank: i + 1,
            host: c.hostName,
            url: c.hostUrl,
            score: c.score.toFixed(3),
            now: c.canRunNow ? "yes" : `no: ${c.waitReason ?? ""}`,
            cores: `${c.status.freeCpuCores}/${c.status.eligibleCpuIds.length}`,
            queue: c.status.queueLength,
            tags: c.status.tags.join(","),
            selected: reply.selected?.hostUrl === c.hostUrl ? "*" : "",
          })),
          [
            "rank",
            "host",
            "url",
            ["score", "score (low=best)"],
            ["now", "can run now"],
            [
              "cores",
              "cores free",
            ],
            "queue",
            "tags",
            "selected",
          ],
        );
      } else {
        console.log("No host can run a job with these needs.");
      }
      for (const r of reply.rejected) {
        console.log(pc.dim(`rejected ${r.hostName} (${r.hostUrl}): ${r.reason}`));
      }
      for (const [host, error] of Object.entries(reply.errors)) {
        console.error(`${pc.yellow("warning")} ${host}: ${error}`);
      }
    });
}

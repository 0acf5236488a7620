/**
 * `paglets mesh summary` and `paglets mesh targets`: mesh-info of the entry host. They attach to
 * the `mesh` command group whoever creates it first (the mesh membership part adds `mesh hosts`).
 *
 * @module
 */
import type { Command } from "../../cli/command.ts";
import { networkOptions } from "../../cli/agents_command.ts";
import { formatDuration } from "../../cli/times.ts";
import { numberOption } from "../../cli/number_option.ts";
import { type EntryOptions, withEntry } from "../../cli/entry.ts";
import { formatBytes, pc, printJson, printTable } from "../../cli/output.ts";
import { parseSize } from "../../host/options.ts";
import { ServiceClient } from "../client.ts";
import { ensureCommand, fixed } from "../cli_support.ts";
import {
  Landscape,
  type LandscapeReply,
  MeshInfoContract,
  SelectTargets,
  type SelectTargetsReply,
} from "./contract.ts";

const collect = (value: string, previous: string[]) => [...previous, value];

function size(value: string): number {
  const n = parseSize(value);
  if (n === null) throw new Error(`a size like 512M or 2G is needed: got '${value}'`);
  return n;
}

function pct(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(1)}%`;
}

export function registerMeshInfoCommands(program: Command): void {
  const mesh = ensureCommand(program, "mesh", "The mesh: hosts, load and capacity");

  networkOptions(
    mesh.command("summary").description("Load and capacity of every online host (mesh-info landscape)"),
  )
    .option(
      "--max-age <seconds>",
      "only snapshots younger than this (0 = the sample TTL)",
      numberOption("--max-age"),
      0,
    )
    .option("--limit <n>", "at most this many hosts (0 = all)", numberOption("--limit", { integer: true }), 0)
    .option("--include-stale", "also hosts whose latest snapshot is old")
    .action(
      async (o: EntryOptions & { json?: boolean; maxAge: number; limit: number; includeStale?: boolean }) => {
        const reply: LandscapeReply = await withEntry(
          o,
          (client) =>
            new ServiceClient(client).call(MeshInfoContract.name, Landscape, {
              maxAgeSeconds: o.maxAge,
              limit: Math.floor(o.limit),
              freshOnly: !o.includeStale,
            }),
        );
        if (o.json) {
          return printJson(reply);
        }
        printTable(
          reply.hosts.map((h) => ({
            host: h.hostName,
            url: h.hostUrl,
            age: formatDuration(h.ageSeconds),
            cpus: h.cpuCount,
            load: fixed(h.load1),
            perCpu: fixed(h.loadPerCpu),
            cpu: pct(h.cpuPercent),
            mem: `${formatBytes(h.memoryAvailableBytes)} (${h.memoryPercent.toFixed(0)}% used)`,
            work: `${formatBytes(h.workFreeBytes)} (${h.workPercentUsed.toFixed(0)}% used)`,
            agents: `${h.activeAgents}/${h.inactiveAgents}`,
            tags: h.tags.join(","),
            errors: h.errors.join("; "),
          })),
          [
            "host",
            "url",
            "age",
            "cpus",
            ["load", "load1"],
            ["perCpu", "load/cpu"],
            ["cpu", "cpu%"],
            ["mem", "mem free"],
            ["work", "work disk free"],
            ["agents", "agents act/inact"],
            "tags",
            "errors",
          ],
        );
        for (const [host, error] of Object.entries(reply.errors)) {
          console.error(`${pc.yellow("warning")} ${host}: ${error}`);
        }
      },
    );

  networkOptions(
    mesh.command("targets").description("Hosts with free capacity, best first (mesh-info select-targets)"),
  )
    .option(
      "--limit <n>",
      "at most this many targets (0 = all)",
      numberOption("--limit", { integer: true }),
      5,
    )
    .option(
      "--max-age <seconds>",
      "only snapshots younger than this (0 = the sample TTL)",
      numberOption("--max-age"),
      0,
    )
    .option(
      "--max-load-per-cpu <n>",
      "reject hosts with load1/cpus above this",
      numberOption("--max-load-per-cpu"),
      1.0,
    )
    .option("--max-cpu-percent <n>", "reject hosts busier than this", numberOption("--max-cpu-percent"), 100)
    .option("--mem <size>", "minimum available memory (e.g. 2G)", size)
    .option("--disk <size>", "minimum free space in the work dir (e.g. 10G)", size)
    .option("--tag <tag>", "required host tag (repeatable)", collect, [])
    .option("--prefer-tag <tag>", "preferred host tag (repeatable)", collect, [])
    .option("--exclude-tag <tag>", "never hosts with this tag (repeatable)", collect, [])
    .option("--exclude-host <name|url>", "never this host (repeatable)", collect, [])
    .option("--exclude-self", "never the entry host itself")
    .action(async (
      o: EntryOptions & {
        json?: boolean;
        limit: number;
        maxAge: number;
        maxLoadPerCpu: number;
        maxCpuPercent: number;
        mem?: number;
        disk?: number;
        tag: string[];
        preferTag: string[];
        excludeTag: string[];
        excludeHost: string[];
        excludeSelf?: boolean;
      },
    ) => {
      const reply: SelectTargetsReply = await withEntry(
        o,
        (client) =>
          new ServiceClient(client).call(MeshInfoContract.name, SelectTargets, {
            limit: Math.floor(o.limit),
            maxAgeSeconds: o.maxAge,
            maxLoadPerCpu: o.maxLoadPerCpu,
            maxCpuPercent: o.maxCpuPercent,
            minMemoryAvailableBytes: o.mem ?? 0,
            minWorkFreeBytes: o.disk ?? 0,
            includeSelf: !o.excludeSelf,
            requiredTags: o.tag,
            preferredTags: o.preferTag,
            excludedTags: o.excludeTag,
            excludeHosts: o.excludeHost,
          }),
      );
      // No host fits: exit status 1, as `jobs hosts` (the answer still prints, for scripts too).
      if (reply.targets.length === 0) Deno.exitCode = 1;
      if (o.json) return printJson(reply);
      if (reply.targets.length) {
        printTable(
          reply.targets.map((t, i) => ({
            rank: i + 1,
            host: t.hostName,
            url: t.hostUrl,
            score: t.score.toFixed(3),
            slots: t.freeSlots,
            cpus: t.cpuCount,
            perCpu: fixed(t.loadPerCpu),
            cpu: pct(t.cpuPercent),
            mem: formatBytes(t.memoryAvailableBytes),
            work: formatBytes(t.workFreeBytes),
            tags: t.tags.join(","),
          })),
          [
            "rank",
            "host",
            "url",
            ["score", "score (low=best)"],
            ["slots", "free slots"],
            "cpus",
            ["perCpu", "load/cpu"],
            ["cpu", "cpu%"],
            ["mem", "mem avail"],
            ["work", "work free"],
            "tags",
          ],
        );
      } else {
        console.log("No host satisfies the limits.");
      }
      for (const r of reply.rejected) {
        console.log(pc.dim(`rejected ${r.hostName} (${r.hostUrl}): ${r.reasons.join("; ")}`));
      }
      for (const [host, error] of Object.entries(reply.errors)) {
        console.error(`${pc.yellow("warning")} ${host}: ${error}`);
      }
    });
}

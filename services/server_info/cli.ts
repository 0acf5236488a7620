/**
 * `paglets sys summary|load|df|ps`: server-info of the entry host, or of every online host with
 * `--all-hosts` (asked in parallel).
 *
 * @module
 */
import type { Command } from "../../cli/command.ts";
import type { Operation } from "../../agents/operations.ts";
import { networkOptions } from "../../cli/agents_command.ts";
import { numberOption } from "../../cli/number_option.ts";
import { type EntryOptions, withEntry } from "../../cli/entry.ts";
import { formatBytes, pc, printJson, printTable } from "../../cli/output.ts";
import { PagletError } from "../../agents/errors.ts";
import { fanOut, fixed, type HostResult, reportFailures, targetHosts } from "../cli_support.ts";
import {
  Df,
  type DfReply,
  Load,
  type LoadReply,
  Ps,
  type PsReply,
  ServerInfoContract,
  Summary,
  type SummaryReply,
} from "./contract.ts";
import { ownProcesses } from "./processes.ts";
import { formatDuration, localTime } from "../../cli/times.ts";

interface SysOptions extends EntryOptions {
  json?: boolean;
  allHosts?: boolean;
}

async function ask<Req, Rep>(
  o: SysOptions,
  op: Operation<Req, Rep>,
  request: Partial<Req>,
): Promise<HostResult<Rep>[]> {
  return await withEntry(o, async (entry) => {
    const hosts = await targetHosts(entry, !!o.allHosts);
    return await fanOut(hosts, o, (services) => services.call(ServerInfoContract.name, op, request));
  });
}

/**
 * Prints the replies: the entry's (its failure is the command's error, with nothing on stdout),
 * or with `--all-hosts` those of the hosts that answered (a table only when one did), then the
 * failures.
 */
function printResults<T>(o: SysOptions, results: HostResult<T>[], table: (replies: T[]) => void): void {
  if (!o.allHosts) {
    const [only] = results;
    if (!only.ok) throw PagletError.fromWire(only.error);
    return o.json ? printJson(only.reply) : table([only.reply]);
  }
  if (o.json) printJson(results);
  else {
    const ok = results.flatMap((r) => r.ok ? [r.reply] : []);
    if (ok.length) table(ok);
  }
  reportFailures(results);
}

/**
 * A host that could read none of the paths asked failed: `not_found` (`forbidden` when every path
 * was refused) with each path's reason. A host that read some of them answered (the others are
 * warnings).
 */
function noPathRead(result: HostResult<DfReply>): HostResult<DfReply> {
  if (!result.ok || result.reply.volumes.length > 0) return result;
  const reasons = Object.entries(result.reply.errors);
  if (reasons.length === 0) return result;
  const refused = reasons.every(([, reason]) => /^permission denied/i.test(reason));
  return {
    name: result.name,
    url: result.url,
    ok: false,
    error: {
      code: refused ? "forbidden" : "not_found",
      message: `No path could be read: ${reasons.map(([path, reason]) => `${path}: ${reason}`).join("; ")}`,
    },
  };
}

function sysCommand(parent: Command, name: string, description: string): Command {
  return networkOptions(parent.command(name).description(description))
    .option("--all-hosts", "ask every online host of the mesh (in parallel)");
}

export function registerSysCommand(program: Command): void {
  const sys = program.command("sys").description(
    "Machine information from server-info: summary, load, df, ps",
  );

  sysCommand(sys, "summary", "Platform, Deno version, CPUs, memory, boot time")
    .action(async (o: SysOptions) => {
      printResults(o, await ask(o, Summary, {}), (replies: SummaryReply[]) =>
        printTable(
          replies.map((r) => ({
            host: r.hostName,
            platform: `${r.platform.os}-${r.platform.arch} ${r.platform.release}`,
            deno: r.denoVersion,
            cpus: `${r.cpuCountLogical}${r.cpuCountPhysical ? ` (${r.cpuCountPhysical} cores)` : ""}`,
            memory: formatBytes(r.memoryTotalBytes),
            booted: localTime(r.bootTime),
            uptime: formatDuration(r.uptimeSeconds),
          })),
          ["host", "platform", "deno", "cpus", "memory", "booted", "uptime"],
        ));
    });

  sysCommand(sys, "load", "CPU load, CPU busy percent, memory and swap")
    .option(
      "--interval <seconds>",
      "measure CPU over this many seconds (0 = since the last sample)",
      numberOption("--interval", { max: 10 }),
      0,
    )
    .option("--gpu", "also read NVIDIA GPUs (nvidia-smi)")
    .action(async (o: SysOptions & { interval: number; gpu?: boolean }) => {
      printResults(
        o,
        await ask(o, Load, { interval: o.interval, includeGpu: !!o.gpu }),
        (replies: LoadReply[]) => {
          printTable(
            replies.map((r) => ({
              host: r.hostName,
              cpus: r.cpuCount,
              load: r.loadAverage.map((l) => l.toFixed(2)).join(" "),
              perCpu: fixed(r.loadPerCpu),
              cpu: r.cpuPercent === null ? "-" : `${r.cpuPercent.toFixed(1)}%`,
              mem: `${r.memoryPercent.toFixed(1)}%`,
              avail: formatBytes(r.memoryAvailableBytes),
              swap: `${r.swapPercent.toFixed(1)}%`,
            })),
            [
              "host",
              "cpus",
              ["load", "load 1/5/15"],
              ["perCpu", "load/cpu"],
              ["cpu", "cpu%"],
              ["mem", "mem%"],
              ["avail", "mem avail"],
              [
                "swap",
                "swap%",
              ],
            ],
          );
          const gpus = replies.flatMap((r) => r.gpus.map((g) => ({ host: r.hostName, ...g })));
          if (gpus.length) {
            printTable(gpus, [
              "host",
              "index",
              "name",
              "utilizationPercent",
              "memoryUsedMb",
              "memoryTotalMb",
            ]);
          } else if (o.gpu) {
            for (const r of replies) {
              console.error(pc.dim(`${r.hostName}: no GPU (${r.gpuError ?? "none found"})`));
            }
          }
        },
      );
    });

  sysCommand(sys, "df [paths...]", "Disk usage of paths (default: the host's data dir and /)")
    .option("--all-volumes", "also every device-backed mount point")
    .action(async (paths: string[], o: SysOptions & { allVolumes?: boolean }) => {
      for (const [i, path] of paths.entries()) {
        if (path === "") {
          throw new PagletError(
            "invalid_request",
            `path ${
              i + 1
            } of sys df is empty: name a file or folder on the host (no path: its data dir and /)`,
          );
        }
      }
      const results = (await ask(o, Df, { paths, allVolumes: !!o.allVolumes })).map(noPathRead);
      printResults(o, results, (replies: DfReply[]) => {
        printTable(
          replies.flatMap((r) =>
            r.volumes.map((v) => ({
              host: r.hostName,
              path: v.path,
              total: formatBytes(v.totalBytes),
              used: formatBytes(v.usedBytes),
              free: formatBytes(v.freeBytes),
              use: `${v.percentUsed.toFixed(1)}%`,
            }))
          ),
          ["host", "path", "total", "used", "free", ["use", "use%"]],
        );
        for (const r of replies) {
          for (const [path, message] of Object.entries(r.errors)) {
            console.error(`${pc.yellow("warning")} ${r.hostName} ${path}: ${message}`);
          }
        }
      });
    });

  sysCommand(sys, "ps [query]", "Processes whose name or command line contains QUERY (largest memory first)")
    .option(
      "--limit <n>",
      "at most this many per host (0 = all)",
      numberOption("--limit", { integer: true, max: 10_000 }),
      25,
    )
    .option("--args", "show whole command lines")
    .action(async (query: string | undefined, o: SysOptions & { limit: number; args?: boolean }) => {
      printResults(
        o,
        // Not the CLI itself (its command line holds the query), nor a wrapper running it (timeout).
        await ask(o, Ps, {
          query: query ?? "",
          limit: o.limit,
          includeArgs: !!o.args,
          exclude: await ownProcesses(),
        }),
        (replies: PsReply[]) => {
          const rows = replies.flatMap((r) =>
            r.processes.map((p) => ({
              host: r.hostName,
              ...p,
              rss: formatBytes(p.rssBytes),
              // --args: the whole command line, however long; else the program, cut at 80.
              cmd: o.args || p.cmdline.length <= 80 ? p.cmdline : `${p.cmdline.slice(0, 77)}...`,
            }))
          );
          if (!rows.length) {
            const on = replies.length === 1 ? replies[0].hostName : `any of ${replies.length} hosts`;
            return console.log(query ? `No process matches '${query}' on ${on}.` : `No process on ${on}.`);
          }
          printTable(
            rows,
            ["host", "pid", "name", "state", ["username", "user"], "rss", ["memoryPercent", "mem%"], [
              "cpuPercent",
              "cpu%",
            ], ["cmd", "command"]],
          );
          for (const r of replies) {
            if (r.truncated) {
              console.error(
                pc.dim(`${r.hostName}: ${r.matched} matched, showing ${r.processes.length} (--limit)`),
              );
            }
          }
        },
      );
    });
}

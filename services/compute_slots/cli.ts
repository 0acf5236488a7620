/**
 * `paglets jobs status|queue|why|top|ps|history|hosts|rm`: compute-slots of the entry host (and,
 * for `ps` and `status` with `--all-hosts`, of every online host). Every command takes `--json`.
 *
 * @module
 */
import type { Command } from "commander";
import { PagletError } from "../../agents/errors.ts";
import { networkOptions } from "../../cli/agents_command.ts";
import { type EntryOptions, withEntry } from "../../cli/entry.ts";
import { formatBytes, pc, printJson, printTable } from "../../cli/output.ts";
import { parseSize } from "../../host/options.ts";
import { ServiceClient } from "../client.ts";
import { fanOut, fixed, formatDuration, type HostResult, targetHosts } from "../cli_support.ts";
import {
  Cancel,
  CandidateHosts,
  type CandidateHostsReply,
  ComputeSlotsContract,
  Jobs,
  type JobsReply,
  Status,
  type StatusReply,
} from "./contract.ts";
import { whyWaiting } from "./why.ts";

const NAME = ComputeSlotsContract.name;

interface JobsOptions extends EntryOptions {
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function size(value: string): number {
  const n = parseSize(value);
  if (n === null) throw new Error(`a size like 512M or 2G is needed: got '${value}'`);
  return n;
}

function count(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be an integer >= 0: got '${value}'`);
    return n;
  };
}

function ago(epochMs: number): string {
  return epochMs > 0 ? formatDuration((Date.now() - epochMs) / 1000) : "-";
}

function cpus(ids: readonly number[]): string {
  return ids.length ? ids.join(",") : "-";
}

async function status(o: JobsOptions, request: Record<string, unknown>): Promise<StatusReply> {
  return await withEntry(
    { ...o, quiet: o.json },
    (client) => new ServiceClient(client).call(NAME, Status, request),
  );
}

function jobsCommand(parent: Command, name: string, description: string): Command {
  return networkOptions(parent.command(name).description(description));
}

export function registerJobsCommands(program: Command): void {
  const jobs = program.command("jobs").description(
    "Compute jobs and the compute-slots scheduler: status, queue, why, top, ps, history, hosts, rm",
  );

  jobsCommand(jobs, "status", "Capacity, reservations and counters of the scheduler")
    .option("--all-hosts", "every online host of the mesh (in parallel)")
    .action(async (o: JobsOptions & { allHosts?: boolean }) => {
      const results = await withEntry({ ...o, quiet: o.json }, async (entry) => {
        const hosts = await targetHosts(entry, !!o.allHosts);
        return await fanOut(
          hosts,
          o,
          (s) => s.call(NAME, Status, { includeQueue: false, includeLeases: false }),
        );
      });
      if (o.json) {
        printJson(!o.allHosts && results.length === 1 && results[0].ok ? results[0].reply : results);
      } else {
        printTable(
          results.flatMap((r) => r.ok ? [statusRow(r.reply)] : []),
          [
            "host",
            ["cores", "cores free/eligible"],
            "reserved",
            ["mem", "mem free"],
            ["temp", "temp free"],
            "queue",
            "leases",
            ["load", "load/cpu"],
            "affinity",
            ["done", "steps ok/failed"],
          ],
        );
      }
      reportFailures(results);
    });

  jobsCommand(jobs, "queue", "Requests waiting for a slot, oldest first")
    .action(async (o: JobsOptions) => {
      const reply = await status(o, { includeQueue: true, includeLeases: false });
      if (o.json) return printJson(reply.queue ?? []);
      if (!reply.queue?.length) return console.log(`No request waits on ${reply.host.hostName}.`);
      printTable(
        reply.queue.map((q) => ({
          pos: q.position,
          request: q.request.requestId,
          agent: q.request.agentId,
          job: q.request.jobId,
          cores: q.request.cpuCores,
          mem: formatBytes(q.request.memoryBytes),
          temp: formatBytes(q.request.tempStorageBytes),
          est: `${q.request.estimatedRuntimeSeconds}s`,
          waiting: ago(q.enqueuedAt),
          redirects: q.request.redirectCount,
        })),
        [
          "pos",
          "request",
          "agent",
          "job",
          "cores",
          "mem",
          "temp",
          ["est", "est. runtime"],
          "waiting",
          "redirects",
        ],
      );
    });

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

  jobsCommand(jobs, "top", "Leases with their CPU masks and measured usage")
    .action(async (o: JobsOptions) => {
      const reply = await status(o, { includeQueue: false, includeLeases: true, includeUsage: true });
      if (o.json) return printJson({ leases: reply.leases ?? [], usage: reply.activeUsage ?? [] });
      const usage = new Map((reply.activeUsage ?? []).map((u) => [u.leaseId, u]));
      if (!reply.leases?.length) return console.log(`No lease on ${reply.host.hostName}.`);
      printTable(
        reply.leases.map((l) => {
          const u = usage.get(l.leaseId);
          return {
            lease: l.leaseId,
            agent: l.agentId,
            job: l.jobId,
            cpus: cpus(l.cpuIds),
            mask: l.mask ? cpus(l.mask) : "-",
            state: l.running ? "running" : "granted",
            cpu: u?.lastSample ? `${u.lastSample.cpuPercent.toFixed(0)}%` : "-",
            rss: u?.lastSample ? formatBytes(u.lastSample.rssBytes) : "-",
            work: u?.lastSample ? formatBytes(u.lastSample.workDirBytes) : "-",
            age: ago(l.grantedAt),
            expires: formatDuration((l.expiresAt - Date.now()) / 1000),
          };
        }),
        [
          "lease",
          "agent",
          "job",
          ["cpus", "cpu ids"],
          ["mask", "mask now"],
          "state",
          ["cpu", "cpu%"],
          [
            "rss",
            "process rss",
          ],
          ["work", "work dir"],
          "age",
          ["expires", "expires in"],
        ],
      );
    });

  jobsCommand(jobs, "ps", "Compute jobs on the host (agents with a computeStatus)")
    .option("--active", "only active jobs")
    .option("--inactive", "only inactive (sleeping) jobs")
    .option("--job <id>", "only this job id (repeatable)", collect, [])
    .option("--agent <id>", "only this agent id (repeatable)", collect, [])
    .option("--state <state>", "only this computeStatus, e.g. RUNNING (repeatable)", collect, [])
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
      const results = await withEntry({ ...o, quiet: o.json }, async (entry) => {
        const hosts = await targetHosts(entry, !!o.allHosts);
        return await fanOut(hosts, o, (s) => s.call(NAME, Jobs, filter));
      });
      const rows = results.flatMap((r) =>
        r.ok ? r.reply.jobs.map((j) => ({ host: r.reply.hostName, ...j })) : []
      );
      if (o.json) printJson(rows);
      else if (rows.length === 0) console.log("No compute job matches.");
      else {
        printTable(
          rows.map((j) => ({
            ...j,
            cpus: cpus(j.cpuCoreIds),
            error: j.computeError.slice(0, 60),
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
            "updated",
            "error",
          ],
        );
      }
      reportFailures(results);
    });

  jobsCommand(jobs, "history", "Finished jobs with their measured usage (newest last)")
    .option("--limit <n>", "at most this many (0 = all kept)", count("--limit"), 20)
    .action(async (o: JobsOptions & { limit: number }) => {
      const reply = await status(o, {
        includeQueue: false,
        includeLeases: false,
        includeHistory: true,
        historyLimit: o.limit,
      });
      const history = reply.finishedUsage ?? [];
      if (o.json) return printJson(history);
      if (!history.length) return console.log(`No finished job on ${reply.host.hostName} yet.`);
      printTable(
        history.map((h) => ({
          job: h.jobId,
          agent: h.agentId,
          cpus: cpus(h.cpuIds),
          reason: h.finishReason,
          runtime: `${h.runtimeSeconds.toFixed(2)}s`,
          cpu: `${h.maxCpuPercent.toFixed(0)}%`,
          rss: formatBytes(h.maxRssBytes),
          work: formatBytes(h.maxWorkDirBytes),
          declared: `${h.cpuCores} cores, ${formatBytes(h.memoryBytes)}`,
          finished: new Date(h.finishedAt).toISOString().replace("T", " ").slice(0, 19),
        })),
        [
          "job",
          "agent",
          ["cpus", "cpu ids"],
          "reason",
          "runtime",
          ["cpu", "max cpu%"],
          ["rss", "max rss"],
          [
            "work",
            "max work dir",
          ],
          "declared",
          "finished",
        ],
      );
    });

  jobsCommand(jobs, "hosts", "Hosts that could run a job with these needs, best first")
    .option("--limit <n>", "at most this many candidates (0 = all)", count("--limit"), 5)
    .option("--cores <n>", "CPU cores", count("--cores"), 1)
    .option("--mem <size>", "memory, e.g. 2G", size, 0)
    .option("--disk <size>", "temp storage in the work dir, e.g. 10G", size, 0)
    .option("--gpu", "needs a GPU (no host admits GPU jobs yet)")
    .option("--gpu-memory <mb>", "GPU memory in MB", count("--gpu-memory"), 0)
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
        { ...o, quiet: o.json },
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

  jobsCommand(jobs, "rm", "Cancel waiting jobs: remove their queued requests and dispose them")
    .option("--job <id>", "this job id (repeatable)", collect, [])
    .option("--agent <id>", "this agent id (repeatable)", collect, [])
    .option("--all", "every job in --state")
    .option("--state <state>", "jobs in this computeStatus (never RUNNING)", "WAITING_FOR_SLOT")
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
      await withEntry({ ...o, quiet: o.json }, async (entry) => {
        const services = new ServiceClient(entry);
        const listed: JobsReply = await services.call(NAME, Jobs, {
          states: [state],
          jobIds: o.job,
          agentIds: o.agent,
        });
        const victims = listed.jobs.filter((j) => j.computeStatus !== "RUNNING");
        if (o.dryRun || victims.length === 0) {
          if (o.json) return printJson({ dryRun: !!o.dryRun, jobs: victims, removed: [] });
          if (!victims.length) return console.log("No job matches.");
          printTable(victims, [
            ["agentId", "agent"],
            ["jobId", "job"],
            ["computeStatus", "compute"],
            "status",
          ]);
          return console.log(pc.dim(`dry run: ${victims.length} job(s) would be removed`));
        }
        if (!o.force && !confirmed(`Remove ${victims.length} job(s) from ${listed.hostName}?`)) {
          throw new PagletError("invalid_request", "Not removed: confirm, or pass --force");
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

function confirmed(question: string): boolean {
  if (!Deno.stdin.isTerminal()) return false;
  const answer = prompt(`${question} [y/N]`);
  return answer !== null && /^y(es)?$/i.test(answer.trim());
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
    affinity: h.affinitySupported
      ? (r.settings.elasticAffinity ? "pinned, elastic" : "pinned")
      : `unsupported${r.settings.affinityError ? `: ${r.settings.affinityError}` : ""}`,
    done: `${r.counters.stepsSucceeded}/${r.counters.stepsFailed}`,
  };
}

function reportFailures(results: HostResult<unknown>[]): void {
  for (const r of results) {
    if (!r.ok) console.error(`${pc.red("error")} ${r.name} (${r.url}) [${r.error.code}]: ${r.error.message}`);
  }
  if (results.length && results.every((r) => !r.ok)) Deno.exitCode = 1;
}

/**
 * Taking this host's mesh snapshot: load, CPU, memory, the work dir's disk and agent counts.
 * Every part that fails is recorded in `errors` instead of failing the snapshot.
 *
 * @module
 */
import { version } from "../../host/version.ts";
import type { ServiceHost } from "../service_host.ts";
import { type CpuSampler, round } from "../server_info/cpu.ts";
import { readMemory } from "../server_info/system.ts";
import { volumeUsage } from "../server_info/volumes.ts";
import type { MeshSnapshot } from "./contract.ts";

/** Samples this host now; `cpu` keeps the previous CPU reading (busy share since then). */
export async function takeSnapshot(host: ServiceHost, cpu: CpuSampler): Promise<MeshSnapshot> {
  const errors: string[] = [];
  const cpuCount = host.info.cpuCount || navigator.hardwareConcurrency || 1;
  const [cpuPercent, work, agents] = await Promise.all([
    cpu.percent().catch((err) => {
      errors.push(`cpu: ${err.message}`);
      return null;
    }),
    volumeUsage(host.workPath).catch((err) => {
      errors.push(`work disk: ${err.message}`);
      return null;
    }),
    host.agentCounts().catch((err) => {
      errors.push(`agents: ${err.message}`);
      return { active: 0, inactive: 0 };
    }),
  ]);
  const loadAverage = Deno.loadavg();
  const memory = readMemory();
  return {
    hostName: host.info.name,
    hostUrl: host.info.url,
    version: version(),
    observedAt: Date.now(),
    platform: `${Deno.build.os}-${Deno.build.arch}`,
    cpuCount,
    cpuPercent,
    loadAverage,
    load1: loadAverage[0],
    loadPerCpu: round(loadAverage[0] / cpuCount, 4),
    memoryTotalBytes: memory.memoryTotalBytes,
    memoryAvailableBytes: memory.memoryAvailableBytes,
    memoryPercent: memory.memoryPercent,
    swapPercent: memory.swapPercent,
    workPath: host.workPath,
    workTotalBytes: work?.totalBytes ?? 0,
    workFreeBytes: work?.freeBytes ?? 0,
    workPercentUsed: work?.percentUsed ?? 0,
    activeAgents: agents.active,
    inactiveAgents: agents.inactive,
    tags: [...host.info.tags],
    properties: { ...host.info.properties },
    errors,
  };
}

/**
 * Readings compute-slots takes of its host: the resource sample admission works on, and the usage
 * of running compute steps (CPU time of the step's thread, process RSS, bytes in the job's work
 * dir and in paths the job declared).
 *
 * Compute steps are threads of the host process, so RSS is the process's (shared by every step);
 * CPU time is per thread (`/proc/self/task/<tid>/stat`). Off Linux the readings are 0.
 *
 * @module
 */
import { affinitySupport, eligibleCpuIds } from "../../host/compute/affinity.ts";
import { CLOCK_TICKS_PER_SECOND, procCpuTicks } from "../../host/proc_cpu.ts";
import type { HostSample } from "./host_status.ts";
import type { OtherCpuMeter } from "./other_cpu.ts";
import type { ServiceHost } from "../service_host.ts";

/** The resource sample of this host now; `otherCpu` measures other processes' load since its last sample. */
export async function sampleHost(host: ServiceHost, otherCpu?: OtherCpuMeter): Promise<HostSample> {
  const errors: string[] = [];
  const resources = await host.resources();
  if (resources.memTotal <= 0) errors.push("memory size unknown");
  const eligible = eligibleCpuIds();
  return {
    hostName: host.info.name,
    hostUrl: host.info.url,
    observedAt: Date.now(),
    cpuCount: resources.cpuCount,
    eligibleCpuIds: eligible,
    affinitySupported: affinitySupport().supported,
    load1: resources.load1,
    otherCpuBusy: otherCpu?.sample(),
    memoryTotalBytes: resources.memTotal,
    memoryAvailableBytes: resources.memAvailable,
    workTotalBytes: resources.diskTotal,
    workFreeBytes: resources.diskFree,
    tags: [...host.info.tags],
    properties: { ...host.info.properties },
    errors,
  };
}

/** CPU time (user + system) of a thread of this process in seconds; undefined where unknown. */
export function threadCpuSeconds(tid: number | undefined): number | undefined {
  const ticks = tid === undefined ? undefined : procCpuTicks(`/proc/self/task/${tid}/stat`);
  return ticks === undefined ? undefined : ticks / CLOCK_TICKS_PER_SECOND;
}

/** Resident memory of this process in bytes (0 where unknown). */
export function processRssBytes(): number {
  try {
    const match = /^VmRSS:\s*(\d+)\s*kB/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Bytes of a file, or of every file under a folder (0 when missing); stops after `maxEntries`. */
export async function pathBytes(path: string, maxEntries = 100_000): Promise<number> {
  let total = 0;
  let seen = 0;
  const walk = async (p: string): Promise<void> => {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(p);
    } catch {
      return;
    }
    if (++seen > maxEntries) return;
    if (info.isFile) {
      total += info.size;
      return;
    }
    if (!info.isDirectory) return;
    try {
      for await (const entry of Deno.readDir(p)) await walk(`${p}/${entry.name}`);
    } catch { /* vanished or unreadable: count what was there */ }
  };
  await walk(path);
  return total;
}

/**
 * `server-info`: summary, load, df and ps of this machine, read from /proc and statfs with async
 * I/O only.
 *
 * @example
 * ```ts
 * const host = await Host.start({ name: "a", port: 0, dataDir }, [serviceExtension([serverInfoService()])]);
 * const load = await ServiceClient.connect(host.url).call("server-info", Load, { interval: 0.2 });
 * ```
 *
 * @module
 */
import { version } from "../../host/version.ts";
import { defineService, type ServiceDefinition } from "../contract.ts";
import { CpuSampler, readProcStat, round } from "./cpu.ts";
import { ServerInfoContract } from "./contract.ts";
import { ProcessTable } from "./processes.ts";
import { readCpuTopology, readGpus, readMemory } from "./system.ts";
import { deviceMountPoints, volumesUsage } from "./volumes.ts";

/** The server-info service definition. */
export function serverInfoService(): ServiceDefinition {
  return defineService(ServerInfoContract, (host) => {
    const cpu = new CpuSampler();
    const processes = new ProcessTable();
    const who = () => ({ hostName: host.info.name, hostUrl: host.info.url });
    return {
      handlers: {
        summary: async () => {
          const [topology, stat] = await Promise.all([readCpuTopology(), readProcStat()]);
          const memory = readMemory();
          const uptimeSeconds = Deno.osUptime();
          return {
            ...who(),
            platform: {
              os: Deno.build.os,
              arch: Deno.build.arch,
              release: Deno.osRelease(),
              hostname: Deno.hostname(),
            },
            denoVersion: Deno.version.deno,
            v8Version: Deno.version.v8,
            typescriptVersion: Deno.version.typescript,
            pagletsVersion: version(),
            cpuModel: topology.model,
            cpuCountLogical: navigator.hardwareConcurrency || 1,
            cpuCountPhysical: topology.physical,
            memoryTotalBytes: memory.memoryTotalBytes,
            swapTotalBytes: memory.swapTotalBytes,
            bootTime: stat?.bootTime ?? Date.now() - uptimeSeconds * 1000,
            uptimeSeconds,
            hostUptimeSeconds: Math.round((Date.now() - host.kernel.startedAt) / 1000),
          };
        },
        load: async ({ interval, includeGpu }) => {
          const [cpuPercent, gpu] = await Promise.all([
            cpu.percent({ intervalMs: interval * 1000 }),
            includeGpu ? readGpus() : Promise.resolve({ gpus: [], error: "not requested" }),
          ]);
          const loadAverage = Deno.loadavg();
          const cpuCount = navigator.hardwareConcurrency || 1;
          return {
            ...who(),
            observedAt: Date.now(),
            cpuCount,
            loadAverage,
            loadPerCpu: round(loadAverage[0] / cpuCount, 4),
            cpuPercent,
            ...readMemory(),
            gpuAvailable: gpu.gpus.length > 0,
            gpuError: gpu.error,
            gpus: gpu.gpus,
          };
        },
        df: async ({ paths, allVolumes }) => {
          const wanted = paths.length ? [...paths] : [host.dataDir, "/"];
          if (allVolumes) wanted.push(...await deviceMountPoints());
          return { ...who(), ...await volumesUsage(wanted) };
        },
        ps: async (request) => ({ ...who(), ...await processes.list(request) }),
      },
    };
  });
}

/** Readings of this machine's resources (load, memory, disk) for /v1/host and the services. */
import { statfs } from "./statfs.ts";

export interface Resources {
  cpuCount: number;
  load1: number;
  load5: number;
  load15: number;
  memTotal: number;
  memAvailable: number;
  swapTotal: number;
  swapFree: number;
  diskTotal: number;
  diskFree: number;
}

/** Load, memory and (unless `disk` is false: then 0) the disk of the data dir. */
export async function readResources(dataDir: string, { disk = true } = {}): Promise<Resources> {
  const [load1, load5, load15] = Deno.loadavg();
  const mem = Deno.systemMemoryInfo();
  let diskTotal = 0, diskFree = 0;
  try {
    if (disk) {
      const fs = await statfs(dataDir);
      diskTotal = fs.blocks * fs.bsize;
      diskFree = fs.bavail * fs.bsize;
    }
  } catch { /* unsupported file system: report 0 */ }
  return {
    cpuCount: navigator.hardwareConcurrency || 1,
    load1,
    load5,
    load15,
    memTotal: mem.total,
    memAvailable: mem.available,
    swapTotal: mem.swapTotal,
    swapFree: mem.swapFree,
    diskTotal,
    diskFree,
  };
}

/** Synthetic mesh snapshots for the mesh-info unit tests. */
import type { MeshSnapshot } from "./contract.ts";

export const NOW = 1_700_000_000_000;
export const GIB = 1024 ** 3;

/** A healthy idle 4-CPU host observed at NOW, with `overrides`. */
export function snapshot(name: string, overrides: Partial<MeshSnapshot> = {}): MeshSnapshot {
  const cpuCount = overrides.cpuCount ?? 4;
  const load1 = overrides.load1 ?? 0;
  return {
    hostName: name,
    hostUrl: `http://${name}:8765`,
    version: "test",
    observedAt: NOW,
    platform: "linux-x86_64",
    cpuCount,
    cpuPercent: 0,
    loadAverage: [load1, load1, load1],
    load1,
    loadPerCpu: load1 / cpuCount,
    memoryTotalBytes: 16 * GIB,
    memoryAvailableBytes: 12 * GIB,
    memoryPercent: 25,
    swapPercent: 0,
    workPath: "/data/work",
    workTotalBytes: 100 * GIB,
    workFreeBytes: 60 * GIB,
    workPercentUsed: 40,
    activeAgents: 0,
    inactiveAgents: 0,
    tags: [],
    properties: {},
    errors: [],
    ...overrides,
  };
}

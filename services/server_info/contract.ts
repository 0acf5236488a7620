/**
 * The `server-info` contract: what this machine is and how busy it is. Lazy (started on first
 * call, stopped after 30 s idle), offered to the mesh.
 *
 * @module
 */
import { z } from "zod";
import { operation } from "../../agents/operations.ts";
import { serviceContract } from "../contract.ts";

const Empty = z.object({}).passthrough();
const count = z.number().int().min(0);
const bytes = z.number().min(0);

export const SummaryReply = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  platform: z.object({ os: z.string(), arch: z.string(), release: z.string(), hostname: z.string() }),
  denoVersion: z.string(),
  v8Version: z.string(),
  typescriptVersion: z.string(),
  pagletsVersion: z.string(),
  cpuModel: z.string().nullable(),
  cpuCountLogical: count,
  cpuCountPhysical: count.nullable(),
  memoryTotalBytes: bytes,
  swapTotalBytes: bytes,
  /** Epoch ms of the machine's boot. */
  bootTime: z.number(),
  uptimeSeconds: z.number(),
  hostUptimeSeconds: z.number(),
});
export type SummaryReply = z.infer<typeof SummaryReply>;

export const LoadRequest = z.object({
  /** Seconds to measure CPU over; 0 = since the previous sample. */
  interval: z.number().min(0).max(10).default(0),
  includeGpu: z.boolean().default(false),
});
export type LoadRequest = z.infer<typeof LoadRequest>;

export const Gpu = z.object({
  index: z.number(),
  name: z.string(),
  utilizationPercent: z.number().nullable(),
  memoryUsedMb: z.number().nullable(),
  memoryTotalMb: z.number().nullable(),
});

export const LoadReply = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  observedAt: z.number(),
  cpuCount: count,
  /** 1, 5 and 15 minute load averages. */
  loadAverage: z.array(z.number()).length(3),
  loadPerCpu: z.number(),
  /** Busy share of all CPUs in percent; null where it cannot be measured (no /proc/stat). */
  cpuPercent: z.number().nullable(),
  memoryTotalBytes: bytes,
  memoryAvailableBytes: bytes,
  memoryUsedBytes: bytes,
  memoryPercent: z.number(),
  swapTotalBytes: bytes,
  swapUsedBytes: bytes,
  swapPercent: z.number(),
  gpuAvailable: z.boolean(),
  gpuError: z.string().nullable(),
  gpus: z.array(Gpu),
});
export type LoadReply = z.infer<typeof LoadReply>;

export const DfRequest = z.object({
  /** Paths to report; empty = the host's data dir and `/`. */
  paths: z.array(z.string().min(1)).max(64).default([]),
  /** Also every device-backed mount point. */
  allVolumes: z.boolean().default(false),
});
export type DfRequest = z.infer<typeof DfRequest>;

export const Volume = z.object({
  path: z.string(),
  totalBytes: bytes,
  usedBytes: bytes,
  freeBytes: bytes,
  percentUsed: z.number(),
});

export const DfReply = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  volumes: z.array(Volume),
  /** Path → why it could not be read. */
  errors: z.record(z.string(), z.string()),
});
export type DfReply = z.infer<typeof DfReply>;

export const PsRequest = z.object({
  /** Case-insensitive substring of the name or command line; "" = all. */
  query: z.string().default(""),
  /** Largest RSS first, at most this many; 0 = all. */
  limit: z.number().int().min(0).max(10_000).default(25),
  /** Whole command lines instead of the program only. */
  includeArgs: z.boolean().default(false),
  /**
   * Processes to leave out, each named exactly (boot id, pid, start time in clock ticks after
   * boot): the CLI's own, whose command line holds the query. Another machine's boot id matches
   * nothing.
   */
  exclude: z.array(z.object({ bootId: z.string(), pid: count, startTicks: count })).max(16).default([]),
});
export type PsRequest = z.infer<typeof PsRequest>;

export const ProcessEntry = z.object({
  pid: count,
  name: z.string(),
  state: z.string(),
  username: z.string().nullable(),
  rssBytes: bytes,
  memoryPercent: z.number(),
  cpuPercent: z.number(),
  cmdline: z.string(),
});

export const PsReply = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  processes: z.array(ProcessEntry),
  matched: count,
  truncated: z.boolean(),
});
export type PsReply = z.infer<typeof PsReply>;

export const Summary = operation("summary", Empty, SummaryReply);
export const Load = operation("load", LoadRequest, LoadReply);
export const Df = operation("df", DfRequest, DfReply);
export const Ps = operation("ps", PsRequest, PsReply);

export const ServerInfoContract = serviceContract({
  name: "server-info",
  version: "1",
  description: "This machine: platform, load, disks, processes",
  scope: "mesh",
  lifecycle: "lazy",
  idleTimeoutMs: 30_000,
  operations: { summary: Summary, load: Load, df: Df, ps: Ps },
});

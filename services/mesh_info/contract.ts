/**
 * The `mesh-info` contract: where is capacity in the mesh. Eager (runs from host start), offered
 * to the mesh. Each host samples itself every few seconds and gossips its fresh snapshots to a
 * few online peers; `select-targets` ranks hosts by free capacity and applies load limits.
 *
 * @module
 */
import { z } from "zod";
import { operation } from "../../agents/operations.ts";
import { serviceContract } from "../contract.ts";

const bytes = z.number().min(0);

/** What one host looked like at `observedAt`. */
export const MeshSnapshot = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  /** paglets version of the host. */
  version: z.string(),
  /** Epoch ms of the sample; the newer one wins when snapshots meet. */
  observedAt: z.number(),
  /** `os-arch`, e.g. `linux-x86_64`. */
  platform: z.string(),
  cpuCount: z.number().int().min(1),
  /** Busy share of all CPUs since the previous sample; null where unknown. */
  cpuPercent: z.number().nullable(),
  loadAverage: z.array(z.number()).length(3),
  load1: z.number(),
  /** load1 / cpuCount. */
  loadPerCpu: z.number(),
  memoryTotalBytes: bytes,
  memoryAvailableBytes: bytes,
  memoryPercent: z.number(),
  swapPercent: z.number(),
  /** The folder paglets' scratch dirs live in, and its file system. */
  workPath: z.string(),
  workTotalBytes: bytes,
  workFreeBytes: bytes,
  workPercentUsed: z.number(),
  activeAgents: z.number().int().min(0),
  inactiveAgents: z.number().int().min(0),
  tags: z.array(z.string()),
  properties: z.record(z.string(), z.string()),
  /** Problems with the sample; a host with errors is not selected as a target. */
  errors: z.array(z.string()),
});
export type MeshSnapshot = z.infer<typeof MeshSnapshot>;

export const SnapshotRequest = z.object({
  /** Sample now instead of answering with the latest sample. */
  force: z.boolean().default(false),
});

export const LandscapeRequest = z.object({
  /** Only snapshots younger than `maxAgeSeconds`. */
  freshOnly: z.boolean().default(true),
  /** 0 = the sample TTL (20 s unless configured). */
  maxAgeSeconds: z.number().min(0).default(0),
  /** At most this many hosts (by name); 0 = all. */
  limit: z.number().int().min(0).default(0),
  /** Ask online hosts without a fresh snapshot directly (in parallel, short timeout). */
  refresh: z.boolean().default(true),
});
export type LandscapeRequest = z.infer<typeof LandscapeRequest>;

export const LandscapeHost = MeshSnapshot.extend({ ageSeconds: z.number() });

export const LandscapeReply = z.object({
  generatedAt: z.number(),
  hosts: z.array(LandscapeHost),
  /** Host → why its snapshot is missing or old. */
  errors: z.record(z.string(), z.string()),
});
export type LandscapeReply = z.infer<typeof LandscapeReply>;

export const SyncRequest = z.object({
  snapshots: z.array(MeshSnapshot).max(512).default([]),
  /** 0 = the sample TTL. */
  maxAgeSeconds: z.number().min(0).default(0),
  /** At most this many snapshots in the reply. */
  limit: z.number().int().min(1).max(512).default(64),
});

export const SyncReply = z.object({ snapshots: z.array(MeshSnapshot) });

const tagList = z.array(z.string().min(1)).default([]);

export const SelectTargetsRequest = z.object({
  /** At most this many targets; 0 = every eligible host. */
  limit: z.number().int().min(0).default(0),
  /** 0 = the sample TTL. */
  maxAgeSeconds: z.number().min(0).default(0),
  /** Hosts with load1 / cpuCount above this are rejected; also sets `freeSlots`. */
  maxLoadPerCpu: z.number().positive().default(1.0),
  /** Hosts busier than this (percent of all CPUs) are rejected. */
  maxCpuPercent: z.number().min(0).max(100).default(100),
  minMemoryAvailableBytes: z.number().min(0).default(0),
  minWorkFreeBytes: z.number().min(0).default(0),
  includeSelf: z.boolean().default(true),
  /** A target must carry every one of these tags. */
  requiredTags: tagList,
  /** A target must carry none of these tags. */
  excludedTags: tagList,
  /** Each of these a host carries improves its rank. */
  preferredTags: tagList,
  /** Host names or URLs never selected. */
  excludeHosts: z.array(z.string().min(1)).default([]),
});
export type SelectTargetsRequest = z.infer<typeof SelectTargetsRequest>;

export const Target = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  /** Lower is better: load per CPU + CPU, memory and disk pressure, minus preferred tags. */
  score: z.number(),
  /** max(0, floor(cpuCount × maxLoadPerCpu − load1)): how many more CPU-bound tasks fit. */
  freeSlots: z.number().int().min(0),
  cpuCount: z.number().int(),
  load1: z.number(),
  loadPerCpu: z.number(),
  cpuPercent: z.number().nullable(),
  memoryAvailableBytes: bytes,
  memoryPercent: z.number(),
  workFreeBytes: bytes,
  workPercentUsed: z.number(),
  tags: z.array(z.string()),
  preferredTagsMatched: z.array(z.string()),
  self: z.boolean(),
  observedAt: z.number(),
});
export type Target = z.infer<typeof Target>;

export const Rejection = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  reasons: z.array(z.string()),
});
export type Rejection = z.infer<typeof Rejection>;

export const SelectTargetsReply = z.object({
  generatedAt: z.number(),
  targets: z.array(Target),
  rejected: z.array(Rejection),
  errors: z.record(z.string(), z.string()),
});
export type SelectTargetsReply = z.infer<typeof SelectTargetsReply>;

export const Snapshot = operation("snapshot", SnapshotRequest, MeshSnapshot);
export const Landscape = operation("landscape", LandscapeRequest, LandscapeReply);
export const Sync = operation("sync", SyncRequest, SyncReply);
export const SelectTargets = operation("select-targets", SelectTargetsRequest, SelectTargetsReply);

export const MeshInfoContract = serviceContract({
  name: "mesh-info",
  version: "1",
  description: "Load and capacity of every online host; target selection with load limits",
  scope: "mesh",
  lifecycle: "eager",
  operations: { snapshot: Snapshot, landscape: Landscape, sync: Sync, "select-targets": SelectTargets },
});

/**
 * Where the Pi coordinator launches batches: pure slot arithmetic over mesh-info's view of the hosts.
 *
 * A host's free slots are ⌈cpuCount × maxLoadPerCpu − load1⌉: rounded up, because a core that is mostly
 * idle still takes a batch (the kernel shares it), and rounding down would let a 2-core machine with any
 * background load at all run only one batch. The job's own running batches are counted back in (load1
 * and the CPU share include them, so without that a long job would push its hosts over the limit by
 * itself), and no host ever gets more than ⌈cpuCount × maxLoadPerCpu⌉, which also covers the first
 * seconds of a batch, before load1 has seen it. `maxWorkersPerHost` caps a host, `maxInFlight` the job.
 *
 * load1 lags a minute behind: right after other work ended (an earlier job, even an earlier run of this
 * one) it still counts it, and an idle 2-core host looked half busy and took one batch where it had
 * room for two. Where the host's compute-slots measured the cores in use now (`freshCores`: other
 * processes' busy cores plus the cores its leases reserve), the smaller of the two counts.
 *
 * @example
 * ```ts
 * const hosts = [{ hostName: "a", hostUrl: "http://a", cpuCount: 2, load1: 0.2, cpuPercent: 5, score: 0.3 }];
 * const limits = { maxLoadPerCpu: 1, maxCpuPercent: 100, maxWorkersPerHost: 0, maxInFlight: 0 };
 * launchSlots(hosts, new Map(), limits, 10); // ["http://a", "http://a"]
 * ```
 *
 * @module
 */
import { balancedBatches, splitPoint, type TermBatch } from "./chudnovsky.ts";
import type { HostStatusWire } from "../../services/compute_slots/contract.ts";

/** What placement needs to know about a host (a mesh-info target). */
export interface HostLoad {
  hostName: string;
  hostUrl: string;
  cpuCount: number;
  load1: number;
  /** Busy share of all CPUs in percent; null when unknown. */
  cpuPercent: number | null;
  /** mesh-info's pressure score, lower is better. */
  score: number;
  /**
   * Cores in use now by compute-slots' measure (other processes' busy cores since its last sample,
   * plus the cores its leases reserve, the job's own running batches included); absent when unknown.
   */
  freshCores?: number;
}

/** The job's limits. 0 means "no limit" for the two counts. */
export interface PlacementLimits {
  maxLoadPerCpu: number;
  maxCpuPercent: number;
  maxWorkersPerHost: number;
  maxInFlight: number;
}

/** What {@link freshCoresOf} reads of a host's compute-slots status (`fresh`: a peer's). */
export type SlotsHostStatus = Pick<HostStatusWire, "otherCpuBusy" | "reservedCpuCores"> & { fresh?: boolean };

/** {@link HostLoad.freshCores} from a compute-slots status: undefined when stale or not measured. */
export function freshCoresOf(status: SlotsHostStatus): number | undefined {
  if (status.fresh === false || status.otherCpuBusy === undefined) return undefined;
  return status.otherCpuBusy + status.reservedCpuCores;
}

/** What the load counts of a host read. */
type LoadCounts = Pick<HostLoad, "cpuCount" | "load1" | "freshCores">;

/** load1 (or the fresher count of cores in use, when smaller) without the job's own `own` running batches. */
function strangersCores(host: LoadCounts, own: number): number {
  const load = host.freshCores === undefined ? host.load1 : Math.min(host.load1, host.freshCores);
  return Math.max(0, load - own);
}

/** load1 (as {@link strangersCores} counts it) and CPU share of a host without the job's own running batches. */
export function strangersLoad(host: HostLoad, own: number): { load1: number; cpuPercent: number | null } {
  const cpus = Math.max(1, host.cpuCount);
  return {
    load1: strangersCores(host, own),
    cpuPercent: host.cpuPercent === null ? null : Math.max(0, host.cpuPercent - (100 * own) / cpus),
  };
}

/**
 * Why strangers' load per CPU is over `maxLoadPerCpu`, or null: the check a batch worker makes before
 * computing, counted as placement counts it (else a batch placed here would be skipped again and again).
 */
export function loadOverLimit(host: LoadCounts, own: number, maxLoadPerCpu: number): string | null {
  const perCpu = strangersCores(host, own) / Math.max(1, host.cpuCount);
  return perCpu > maxLoadPerCpu ? `load per cpu ${perCpu.toFixed(2)} > ${maxLoadPerCpu}` : null;
}

/** Is the host within the limits, leaving the job's own batches aside? */
export function withinLimits(host: HostLoad, own: number, limits: PlacementLimits): boolean {
  const cpuPercent = strangersLoad(host, own).cpuPercent;
  return loadOverLimit(host, own, limits.maxLoadPerCpu) === null &&
    (cpuPercent === null || cpuPercent <= limits.maxCpuPercent);
}

/** Batches the host could run at once for this job: its free slots plus the job's own, capped. */
export function hostSlots(host: HostLoad, own: number, limits: PlacementLimits): number {
  if (!withinLimits(host, own, limits)) return 0;
  const budget = Math.max(1, host.cpuCount) * limits.maxLoadPerCpu;
  const free = Math.max(0, Math.ceil(budget - strangersLoad(host, own).load1 - 1e-9));
  const slots = Math.min(free, Math.ceil(budget - 1e-9));
  return limits.maxWorkersPerHost > 0 ? Math.min(slots, limits.maxWorkersPerHost) : slots;
}

/** More batches the host takes now. */
export function hostCapacity(host: HostLoad, own: number, limits: PlacementLimits): number {
  return Math.max(0, hostSlots(host, own, limits) - own);
}

/**
 * Host URLs for up to `wanted` new batches, one entry per batch: best-ranked hosts first, spread one at
 * a time across hosts while they have capacity, the job's `maxInFlight` respected.
 */
export function launchSlots(
  hosts: readonly HostLoad[],
  inFlight: ReadonlyMap<string, number>,
  limits: PlacementLimits,
  wanted: number,
): string[] {
  const running = [...inFlight.values()].reduce((s, n) => s + n, 0);
  const room = limits.maxInFlight > 0 ? Math.max(0, limits.maxInFlight - running) : Infinity;
  let budget = Math.min(wanted, room);
  const ranked = [...hosts].sort((x, y) => x.score - y.score || x.hostName.localeCompare(y.hostName));
  const left = ranked.map((h) => hostCapacity(h, inFlight.get(h.hostUrl) ?? 0, limits));
  const out: string[] = [];
  while (budget > 0) {
    let placed = false;
    for (let i = 0; i < ranked.length && budget > 0; i++) {
      if (left[i] <= 0) continue;
      out.push(ranked[i].hostUrl);
      left[i]--;
      budget--;
      placed = true;
    }
    if (!placed) break;
  }
  return out;
}

/** Total capacity for new batches right now (what launchSlots would hand out without `wanted`). */
export function totalCapacity(
  hosts: readonly HostLoad[],
  inFlight: ReadonlyMap<string, number>,
  limits: PlacementLimits,
): number {
  return launchSlots(hosts, inFlight, limits, Number.MAX_SAFE_INTEGER).length;
}

/**
 * The host for the one batch sent when no host has capacity and nothing runs (so a job on a busy
 * mesh still progresses): the least loaded one, else `self`.
 */
export function fallbackHost(hosts: readonly HostLoad[], self: string): string {
  const perCpu = (h: HostLoad) => strangersCores(h, 0) / Math.max(1, h.cpuCount);
  let best: HostLoad | undefined;
  for (const h of hosts) {
    if (!best || perCpu(h) < perCpu(best)) best = h;
  }
  return best?.hostUrl ?? self;
}

/** Terms below which a batch is not worth a paglet of its own (~900 digits). */
export const MIN_BATCH_TERMS = 64;

/**
 * Number of batches when the user gave no batch size: one per slot, at least two (so a single host
 * combines two halves with the fast method of halves.ts), twice as many when several hosts take part
 * (so faster hosts take more), and never batches below MIN_BATCH_TERMS.
 */
export function autoBatchCount(terms: number, capacity: number, hosts: number): number {
  const wanted = Math.max(2, capacity) * (hosts > 1 ? 2 : 1);
  return Math.max(1, Math.min(wanted, Math.floor(terms / MIN_BATCH_TERMS)));
}

/**
 * Share of the series (by size) in the first of two batches. That batch also computes the left part of
 * the end (√10005, V and the correction's inputs) on its thread (halves.ts, tasks.ts `splitWithLeft`),
 * and the last one its ratio. Each batch measured alone on one thread balanced at 0.36; in whole runs,
 * both threads busy beside the host's, 0.42 balanced them while the first batch started ~25 ms after the
 * last (its thread computed the end's √10005 first). Since that root is computed while the other pi
 * thread starts (worker_pool.ts openAssembly), the two start together, and at 0.40 the first ended 7 ms
 * before to 45 ms after the last in four timed 1,000,000-digit runs (at 0.42, 4–89 ms after, three runs).
 */
export const FIRST_OF_TWO_SHARE = 0.40;

/** The batches of an automatic plan: `count` of about equal size; two are split at FIRST_OF_TWO_SHARE. */
export function autoBatches(terms: number, count: number): TermBatch[] {
  if (count !== 2 || terms < 2) return balancedBatches(terms, count);
  const m = splitPoint(0, terms, FIRST_OF_TWO_SHARE);
  return [{ index: 0, a: 0, b: m }, { index: 1, a: m, b: terms }];
}

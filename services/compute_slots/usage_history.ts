/**
 * What leased jobs actually used, next to what they declared. Estimates are
 * cooperative (nothing enforces RAM or disk), so the observed maxima are how
 * an operator finds jobs whose estimates are wrong.
 *
 * Pure bookkeeping: the host takes the samples (process CPU and RSS, work
 * dir size, sizes of app-declared paths) and records them here; finished jobs
 * move to a bounded history, newest last.
 *
 * @module
 */
import type { FinishReason, Lease } from "./lease_table.ts";

/** One measurement of a running job. */
export interface UsageSample {
  /** Epoch ms of the measurement. */
  at: number;
  cpuPercent: number;
  rssBytes: number;
  workDirBytes: number;
  /** Bytes per app-declared path (see {@linkcode UsageHistory.declarePaths}). */
  pathBytes?: Record<string, number>;
}

/** Usage of one lease so far. */
export interface LeaseUsage {
  leaseId: string;
  requestId: string;
  agentId: string;
  jobId: string;
  cpuIds: number[];
  cpuCores: number;
  memoryBytes: number;
  tempStorageBytes: number;
  grantedAt: number;
  declaredPaths: string[];
  sampleCount: number;
  lastSample: UsageSample | undefined;
  maxCpuPercent: number;
  maxRssBytes: number;
  maxWorkDirBytes: number;
  maxPathBytes: Record<string, number>;
}

/** A finished job in the history. */
export interface FinishedJobUsage extends LeaseUsage {
  finishedAt: number;
  finishReason: FinishReason;
  runtimeSeconds: number;
}

/** Options of {@linkcode UsageHistory}. */
export interface UsageHistoryOptions {
  /** Finished jobs kept. @default 100 */
  limit?: number;
}

/**
 * Per-lease usage and a bounded history of finished jobs.
 *
 * @example
 * ```ts
 * const usage = new UsageHistory();
 * usage.start(lease);
 * usage.record(lease.leaseId, { at: Date.now(), cpuPercent: 97, rssBytes: 2e8, workDirBytes: 0 });
 * usage.finish(lease.leaseId, "released", Date.now());
 * usage.finished(); // [{ ..., finishReason: "released", sampleCount: 1, maxCpuPercent: 97 }]
 * ```
 */
export class UsageHistory {
  readonly #active = new Map<string, LeaseUsage>();
  readonly #finished: FinishedJobUsage[] = [];
  readonly #limit: number;

  constructor(options: UsageHistoryOptions = {}) {
    const { limit = 100 } = options;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(
        `Cannot keep usage history as 'limit' must be an integer >= 0: current value is ${limit}`,
      );
    }
    this.#limit = limit;
  }

  /** Starts tracking a new lease; a second start for the same lease is ignored. */
  start(lease: Lease): LeaseUsage {
    const existing = this.#active.get(lease.leaseId);
    if (existing) return existing;
    const usage: LeaseUsage = {
      leaseId: lease.leaseId,
      requestId: lease.requestId,
      agentId: lease.agentId,
      jobId: lease.jobId,
      cpuIds: [...lease.cpuIds],
      cpuCores: lease.cpuCores,
      memoryBytes: lease.memoryBytes,
      tempStorageBytes: lease.tempStorageBytes,
      grantedAt: lease.grantedAt,
      declaredPaths: [],
      sampleCount: 0,
      lastSample: undefined,
      maxCpuPercent: 0,
      maxRssBytes: 0,
      maxWorkDirBytes: 0,
      maxPathBytes: {},
    };
    this.#active.set(lease.leaseId, usage);
    return usage;
  }

  /** Extra paths the job wants measured (its `compute_usage_paths`), merged as a set. */
  declarePaths(leaseId: string, paths: readonly string[]): void {
    const usage = this.#active.get(leaseId);
    if (usage) usage.declaredPaths = [...new Set([...usage.declaredPaths, ...paths])].sort();
  }

  /** Adds a sample; returns undefined for unknown (already finished) leases. */
  record(leaseId: string, sample: UsageSample): LeaseUsage | undefined {
    const usage = this.#active.get(leaseId);
    if (!usage) return undefined;
    usage.sampleCount += 1;
    usage.lastSample = { ...sample, pathBytes: sample.pathBytes && { ...sample.pathBytes } };
    usage.maxCpuPercent = Math.max(usage.maxCpuPercent, sample.cpuPercent);
    usage.maxRssBytes = Math.max(usage.maxRssBytes, sample.rssBytes);
    usage.maxWorkDirBytes = Math.max(usage.maxWorkDirBytes, sample.workDirBytes);
    for (const [path, bytes] of Object.entries(sample.pathBytes ?? {})) {
      usage.maxPathBytes[path] = Math.max(usage.maxPathBytes[path] ?? 0, bytes);
    }
    return usage;
  }

  /** Whether a lease is due for sampling, given the minimum interval between samples. */
  dueForSample(leaseId: string, now: number, intervalMs: number): boolean {
    const usage = this.#active.get(leaseId);
    if (!usage) return false;
    return !usage.lastSample || now - usage.lastSample.at >= intervalMs;
  }

  /** Moves a lease to the history, after an optional final sample. */
  finish(
    leaseId: string,
    reason: FinishReason,
    finishedAt: number,
    finalSample?: UsageSample,
  ): FinishedJobUsage | undefined {
    if (finalSample) this.record(leaseId, finalSample);
    const usage = this.#active.get(leaseId);
    if (!usage) return undefined;
    this.#active.delete(leaseId);
    const finished: FinishedJobUsage = {
      ...usage,
      finishedAt,
      finishReason: reason,
      runtimeSeconds: Math.max(0, (finishedAt - usage.grantedAt) / 1000),
    };
    this.#finished.push(finished);
    if (this.#finished.length > this.#limit) this.#finished.splice(0, this.#finished.length - this.#limit);
    return finished;
  }

  /**
   * Adds sizes measured after a lease finished (a work-dir walk must not delay handing the slot
   * on) to its history entry: maxima grow, the last sample gets the sizes. False when unknown.
   */
  amendFinished(
    leaseId: string,
    sizes: { workDirBytes: number; pathBytes?: Record<string, number> },
  ): boolean {
    const entry = this.#finished.findLast((f) => f.leaseId === leaseId);
    if (!entry) return false;
    entry.maxWorkDirBytes = Math.max(entry.maxWorkDirBytes, sizes.workDirBytes);
    for (const [path, bytes] of Object.entries(sizes.pathBytes ?? {})) {
      entry.maxPathBytes[path] = Math.max(entry.maxPathBytes[path] ?? 0, bytes);
    }
    if (entry.lastSample) {
      entry.lastSample = {
        ...entry.lastSample,
        workDirBytes: sizes.workDirBytes,
        ...(sizes.pathBytes ? { pathBytes: { ...sizes.pathBytes } } : {}),
      };
    }
    return true;
  }

  /** Forgets a lease without a history entry: its grant was rolled back, the job never ran. */
  discard(leaseId: string): boolean {
    return this.#active.delete(leaseId);
  }

  get(leaseId: string): LeaseUsage | undefined {
    return this.#active.get(leaseId);
  }

  /** Usage of running leases in grant order. */
  active(): LeaseUsage[] {
    return [...this.#active.values()];
  }

  /** Finished jobs, oldest first, at most `limit`. */
  finished(): FinishedJobUsage[] {
    return [...this.#finished];
  }
}

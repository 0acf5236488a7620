/**
 * The leases a host has granted, with the exact CPU ids each one reserves.
 *
 * Reservations are the admission currency of compute-slots: a lease holds
 * concrete CPU ids (so the host can pin the job to them), memory and temp
 * storage. The table never reserves more cores than there are eligible CPU
 * ids, and a CPU id is held by at most one lease.
 *
 * @module
 */
import type { SlotRequest } from "./request.ts";
import { newSlotId } from "./request.ts";

/** A granted compute slot. Times are epoch ms. */
export interface Lease {
  leaseId: string;
  requestId: string;
  agentId: string;
  jobId: string;
  agentHostUrl: string;
  /** The reserved CPU ids, ascending; elastic affinity may add spare ids on top. */
  cpuIds: number[];
  cpuCores: number;
  memoryBytes: number;
  tempStorageBytes: number;
  estimatedRuntimeSeconds: number;
  grantedAt: number;
  expiresAt: number;
  /** How often the lease outlived its TTL while its agent was still alive. */
  extensions: number;
}

/** Why a lease ended; also the finish reason in the usage history. */
export type FinishReason = "released" | "cancelled" | "inactive" | "expired";

/** Leases a sweep touched, by outcome. */
export interface SweepResult {
  /** Past expiry but the agent is alive: kept for another extension. */
  extended: Lease[];
  /** Past expiry and the agent is gone: dropped. */
  expired: Lease[];
  /** Not yet expired but the agent is gone: dropped. */
  inactive: Lease[];
}

/** Options of {@linkcode LeaseTable}. */
export interface LeaseTableOptions {
  /** CPU ids leases may reserve (the host process's affinity mask). */
  eligibleCpuIds: readonly number[];
  /** How long an expired lease of a live agent is extended. @default 300_000 */
  extensionMs?: number;
  /** Lease id factory. @default `slot-<16 hex>` */
  newLeaseId?: () => string;
}

/** TTL of a fresh lease: the runtime estimate plus two minutes, at least one minute. */
export function leaseTtlMs(estimatedRuntimeSeconds: number): number {
  return Math.max(60_000, (estimatedRuntimeSeconds + 120) * 1000);
}

/**
 * Leases in grant order with CPU-id bookkeeping.
 *
 * @example
 * ```ts
 * const table = new LeaseTable({ eligibleCpuIds: [0, 1, 2, 3] });
 * const lease = table.grant(request, Date.now()); // cpuIds [0] for a one-core request
 * table.release(lease!.leaseId);
 * ```
 */
export class LeaseTable {
  readonly #leases = new Map<string, Lease>();
  readonly #reservedIds = new Set<number>();
  readonly #extensionMs: number;
  readonly #newLeaseId: () => string;
  #eligible: number[];
  #freeIds: number[] | undefined;
  #reservedCores = 0;
  #reservedMemory = 0;
  #reservedTemp = 0;

  constructor(options: LeaseTableOptions) {
    const { eligibleCpuIds, extensionMs = 300_000, newLeaseId = () => newSlotId("slot") } = options;
    this.#eligible = sortedIds(eligibleCpuIds);
    this.#extensionMs = extensionMs;
    this.#newLeaseId = newLeaseId;
  }

  get size(): number {
    return this.#leases.size;
  }
  get eligibleCpuIds(): readonly number[] {
    return this.#eligible;
  }
  get reservedCpuCores(): number {
    return this.#reservedCores;
  }
  get reservedMemoryBytes(): number {
    return this.#reservedMemory;
  }
  get reservedTempStorageBytes(): number {
    return this.#reservedTemp;
  }

  /** The host's mask changed. Existing leases keep their ids; only future grants see the new set. */
  setEligibleCpuIds(ids: readonly number[]): void {
    this.#eligible = sortedIds(ids);
    this.#freeIds = undefined;
  }

  /** Eligible CPU ids no lease holds, ascending. */
  freeCpuIds(): readonly number[] {
    this.#freeIds ??= this.#eligible.filter((id) => !this.#reservedIds.has(id));
    return this.#freeIds;
  }

  /** Cores a new lease could reserve now: eligible ids minus reserved cores. */
  freeCpuCores(): number {
    return Math.max(0, Math.min(this.freeCpuIds().length, this.#eligible.length - this.#reservedCores));
  }

  /**
   * Reserves the first free eligible CPU ids for the request, or returns
   * undefined when too few are free. Memory and temp storage are the
   * caller's admission decision; the table only adds them up.
   */
  grant(request: SlotRequest, now: number): Lease | undefined {
    if (request.cpuCores > this.freeCpuCores()) return undefined;
    const cpuIds = this.freeCpuIds().slice(0, request.cpuCores);
    const lease: Lease = {
      leaseId: this.#newLeaseId(),
      requestId: request.requestId,
      agentId: request.agentId,
      jobId: request.jobId,
      agentHostUrl: request.agentHostUrl,
      cpuIds,
      cpuCores: request.cpuCores,
      memoryBytes: request.memoryBytes,
      tempStorageBytes: request.tempStorageBytes,
      estimatedRuntimeSeconds: request.estimatedRuntimeSeconds,
      grantedAt: now,
      expiresAt: now + leaseTtlMs(request.estimatedRuntimeSeconds),
      extensions: 0,
    };
    this.#leases.set(lease.leaseId, lease);
    for (const id of cpuIds) this.#reservedIds.add(id);
    this.#account(lease, +1);
    return lease;
  }

  get(leaseId: string): Lease | undefined {
    return this.#leases.get(leaseId);
  }

  /** The lease of the same owner (request id, agent id, or non-empty job id), if any. */
  forOwner(owner: Pick<SlotRequest, "requestId" | "agentId" | "jobId">): Lease | undefined {
    for (const lease of this.#leases.values()) {
      if (
        lease.requestId === owner.requestId || lease.agentId === owner.agentId ||
        (owner.jobId !== "" && lease.jobId === owner.jobId)
      ) return lease;
    }
    return undefined;
  }

  forAgent(agentId: string): Lease[] {
    return this.list().filter((lease) => lease.agentId === agentId);
  }

  /** Leases in grant order. */
  list(): Lease[] {
    return [...this.#leases.values()];
  }

  release(leaseId: string): Lease | undefined {
    const lease = this.#leases.get(leaseId);
    if (!lease) return undefined;
    this.#leases.delete(leaseId);
    for (const id of lease.cpuIds) this.#reservedIds.delete(id);
    this.#account(lease, -1);
    return lease;
  }

  /**
   * Extends expired leases of live agents and drops leases of gone agents.
   * `isAlive` is the host's view of the agent (active or running here).
   */
  sweep(now: number, isAlive: (lease: Lease) => boolean): SweepResult {
    const result: SweepResult = { extended: [], expired: [], inactive: [] };
    for (const lease of this.list()) {
      const alive = isAlive(lease);
      if (lease.expiresAt > now) {
        if (!alive) result.inactive.push(this.release(lease.leaseId)!);
      } else if (alive) {
        lease.expiresAt = now + this.#extensionMs;
        lease.extensions += 1;
        result.extended.push(lease);
      } else {
        result.expired.push(this.release(lease.leaseId)!);
      }
    }
    return result;
  }

  /** Earliest expiry, so an event-driven host knows when a sweep is due. */
  nextExpiryAt(): number | undefined {
    let next: number | undefined;
    for (const lease of this.#leases.values()) {
      if (next === undefined || lease.expiresAt < next) next = lease.expiresAt;
    }
    return next;
  }

  #account(lease: Lease, sign: 1 | -1): void {
    this.#reservedCores += sign * lease.cpuCores;
    this.#reservedMemory += sign * lease.memoryBytes;
    this.#reservedTemp += sign * lease.tempStorageBytes;
    this.#freeIds = undefined;
  }
}

function sortedIds(ids: readonly number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

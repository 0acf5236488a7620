/**
 * The grant half of a scheduling pass: oldest fit, work-conserving, with
 * burst limits.
 *
 * Waiters are scanned oldest first and every one that fits the free
 * reservations is granted, so a small later job can use a gap an older big
 * job cannot (the big one keeps its place and gets the next gap large
 * enough). Bursts are limited because the load average lags behind grants:
 * at most `maxGrants` per pass, and after the first grant of a pass only
 * while the projected load per CPU is under the burst threshold.
 *
 * @module
 */
import type { Grant } from "./decisions.ts";
import type { SchedulerHostStatus } from "./host_status.ts";
import { canEverSatisfy, fitsFree } from "./host_status.ts";
import type { Lease } from "./lease_table.ts";
import type { SlotRequest } from "./request.ts";
import type { QueuedRequest } from "./slot_queue.ts";

/** Inputs of {@linkcode grantOldestFit}. */
export interface OldestFitInput {
  /** Waiters, oldest first; not modified here. */
  queue: Iterable<QueuedRequest>;
  /** This host's status; its free resources are updated as grants are made. */
  local: SchedulerHostStatus;
  maxGrants: number;
  /** Whether the projected load leaves room for one more grant in this pass. */
  burstAllows: () => boolean;
  /** Reserves a lease for the request (undefined if the CPU ids ran out). */
  grant: (request: SlotRequest) => Lease | undefined;
  /** Free cores after a grant (CPU-id bookkeeping and lease caps). */
  freeCpuCores: () => number;
}

/** Grants waiters that fit; `throttled` says burst limits held back one that fits. */
export function grantOldestFit(input: OldestFitInput): { grants: Grant[]; throttled: boolean } {
  const { queue, local, maxGrants, burstAllows, grant, freeCpuCores } = input;
  const grants: Grant[] = [];
  if (local.errors.length > 0 || local.freeCpuCores === 0) return { grants, throttled: false };
  for (const { request } of queue) {
    // Admission was checked on arrival; tags may have changed with a new host sample since.
    if (!fitsFree(local, request) || !canEverSatisfy(local, request).ok) continue;
    if (grants.length >= maxGrants || (grants.length > 0 && !burstAllows())) {
      return { grants, throttled: true };
    }
    const lease = grant(request);
    if (!lease) continue;
    grants.push({ request, lease });
    local.freeCpuCores = freeCpuCores();
    local.freeMemoryBytes -= request.memoryBytes;
    local.freeTempStorageBytes -= request.tempStorageBytes;
    if (local.freeCpuCores === 0) break;
  }
  return { grants, throttled: false };
}

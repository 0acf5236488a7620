/**
 * Why queued requests wait (`paglets jobs why`): the blockers of each request, computed from a
 * scheduler status the way an oldest-fit pass would see it. Requests ahead that fit take their
 * share of the free capacity first, so the answer says what each request waits for:
 * `host-status`, `never` (this host can never run it), `cpu`, `memory`, `temp-storage`, `load`
 * (burst limit) — or `grantable` when nothing blocks it.
 *
 * @module
 */
import { projectedLoadPerCpu } from "./burst_gate.ts";
import type { SchedulerHostStatus } from "./host_status.ts";
import { canEverSatisfy } from "./host_status.ts";
import type { SlotRequest } from "./request.ts";

/** One blocker of a request. */
export interface Blocker {
  kind: "host-status" | "never" | "cpu" | "memory" | "temp-storage" | "load";
  detail: string;
}

/** The answer for one queued request. */
export interface WhyRow {
  position: number;
  requestId: string;
  agentId: string;
  jobId: string;
  cpuCores: number;
  grantable: boolean;
  blockers: Blocker[];
  /** Milliseconds until the request may be redirected again (0 = now). */
  redirectCooldownLeftMs: number;
}

/** Options of {@linkcode whyWaiting}. */
export interface WhyOptions {
  /** Projected load per CPU at which further grants wait (the scheduler's setting). @default 1.0 */
  burstLoadPerCpu?: number;
  redirectCooldownMs?: number;
  /** @default Date.now() */
  now?: number;
}

/**
 * The blockers of every queued request, oldest first.
 *
 * @example
 * ```ts
 * const rows = whyWaiting(status.host, status.queue.map((q) => q.request), status.settings);
 * for (const row of rows) console.log(row.requestId, row.grantable ? "grantable" : row.blockers);
 * ```
 */
export function whyWaiting(
  host: SchedulerHostStatus,
  queue: readonly SlotRequest[],
  options: WhyOptions = {},
): WhyRow[] {
  const { burstLoadPerCpu = 1.0, redirectCooldownMs = 60_000, now = Date.now() } = options;
  const free = {
    cpu: host.freeCpuCores,
    memory: host.freeMemoryBytes,
    temp: host.freeTempStorageBytes,
  };
  let reserved = host.reservedCpuCores;
  // A pass's first grant is never held by the burst limit (scheduler.ts): only those after it.
  let grantsAhead = 0;
  return queue.map((request, i) => {
    const blockers: Blocker[] = [];
    if (host.errors.length > 0) blockers.push({ kind: "host-status", detail: host.errors.join("; ") });
    const ever = canEverSatisfy(host, request);
    if (!ever.ok) blockers.push({ kind: "never", detail: ever.reason });
    if (request.cpuCores > free.cpu) {
      blockers.push({
        kind: "cpu",
        detail: `needs ${request.cpuCores} cores, ${Math.max(0, free.cpu)} free`,
      });
    }
    if (request.memoryBytes > free.memory) {
      blockers.push({
        kind: "memory",
        detail: `needs ${request.memoryBytes} bytes, ${Math.max(0, free.memory)} free`,
      });
    }
    if (request.tempStorageBytes > free.temp) {
      blockers.push({
        kind: "temp-storage",
        detail: `needs ${request.tempStorageBytes} bytes, ${Math.max(0, free.temp)} free`,
      });
    }
    const projectedLoad = projectedLoadPerCpu(host, reserved);
    if (blockers.length === 0 && grantsAhead > 0 && projectedLoad >= burstLoadPerCpu) {
      blockers.push({
        kind: "load",
        detail: `projected load per cpu ${projectedLoad.toFixed(2)} >= burst limit ${burstLoadPerCpu}`,
      });
    }
    const grantable = blockers.length === 0;
    if (grantable) {
      // An oldest-fit pass would grant it: later requests see what is left.
      free.cpu -= request.cpuCores;
      free.memory -= request.memoryBytes;
      free.temp -= request.tempStorageBytes;
      reserved += request.cpuCores;
      grantsAhead++;
    }
    const cooldownEnd = request.lastRedirectAt > 0 ? request.lastRedirectAt + redirectCooldownMs : 0;
    return {
      position: i + 1,
      requestId: request.requestId,
      agentId: request.agentId,
      jobId: request.jobId,
      cpuCores: request.cpuCores,
      grantable,
      blockers,
      redirectCooldownLeftMs: Math.max(0, cooldownEnd - now),
    };
  });
}

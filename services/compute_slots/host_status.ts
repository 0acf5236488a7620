/**
 * What one host's scheduler knows about its capacity, and the two admission
 * questions asked of it: could this host ever run the request, and could it
 * run it right now.
 *
 * Admission is by explicit reservation, not by measured load: free cores are
 * the eligible CPU ids minus the cores reserved by leases, free memory is the
 * available memory minus reserved memory, free temp storage likewise. Load
 * average lags by a minute, so it only throttles bursts of grants (see
 * `scheduler.ts`) and never blocks a host whose reservations are idle.
 *
 * @module
 */
import type { SlotRequest } from "./request.ts";
import { normalizeHostUrl } from "./request.ts";

/** A host's scheduling status; the local scheduler builds it and peers gossip it. */
export interface SchedulerHostStatus {
  hostName: string;
  hostUrl: string;
  /** Epoch ms when the resource sample was taken; staleness is judged from it. */
  observedAt: number;
  cpuCount: number;
  /** CPU ids this host may hand out (its process affinity mask). */
  eligibleCpuIds: number[];
  affinitySupported: boolean;
  load1: number;
  /** Cores the machine's other processes kept busy at the last sample, where measured. */
  otherCpuBusy?: number;
  loadPerCpu: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  workTotalBytes: number;
  workFreeBytes: number;
  queueLength: number;
  activeLeases: number;
  reservedCpuCores: number;
  reservedMemoryBytes: number;
  reservedTempStorageBytes: number;
  freeCpuCores: number;
  freeMemoryBytes: number;
  freeTempStorageBytes: number;
  /** Lower-case host tags. */
  tags: string[];
  properties: Record<string, string>;
  /** Problems with the sample itself; a host with errors is not given new work. */
  errors: string[];
}

/** The answer of an admission check. */
export type Admission = { ok: true } | { ok: false; reason: string };

const OK: Admission = { ok: true };

/** The reason GPU jobs are refused until GPU accounting exists. */
export const GPU_NOT_SUPPORTED = "gpu admission not supported";

/**
 * Whether the host could run the request once idle: hard constraints (tags,
 * exclusions, GPU) and total capacity.
 *
 * @example
 * ```ts
 * const verdict = canEverSatisfy(status, request);
 * if (!verdict.ok) console.log(verdict.reason); // e.g. "host lacks required tag 'linux'"
 * ```
 */
export function canEverSatisfy(status: SchedulerHostStatus, request: SlotRequest): Admission {
  if (request.requiresGpu) return { ok: false, reason: GPU_NOT_SUPPORTED };
  for (const tag of request.requiredHostTags) {
    if (!status.tags.includes(tag)) return { ok: false, reason: `host lacks required tag '${tag}'` };
  }
  for (const tag of request.excludedHostTags) {
    if (status.tags.includes(tag)) return { ok: false, reason: `host has excluded tag '${tag}'` };
  }
  if (request.excludedHostNames.includes(status.hostName.toLowerCase())) {
    return { ok: false, reason: `host name '${status.hostName}' is excluded` };
  }
  if (request.excludedHostUrls.includes(normalizeHostUrl(status.hostUrl))) {
    return { ok: false, reason: `host url '${status.hostUrl}' is excluded` };
  }
  if (request.cpuCores > status.eligibleCpuIds.length) {
    return {
      ok: false,
      reason: `needs ${request.cpuCores} cpu cores, host has ${status.eligibleCpuIds.length} eligible`,
    };
  }
  if (request.memoryBytes > status.memoryTotalBytes) {
    return {
      ok: false,
      reason: `needs ${request.memoryBytes} bytes of memory, host has ${status.memoryTotalBytes} in total`,
    };
  }
  if (request.tempStorageBytes > status.workTotalBytes) {
    return {
      ok: false,
      reason:
        `needs ${request.tempStorageBytes} bytes of temp storage, host has ${status.workTotalBytes} in total`,
    };
  }
  return OK;
}

/**
 * Whether the request fits the host's unreserved capacity now. Checks
 * {@linkcode canEverSatisfy} first, then status errors and free resources.
 */
export function canRunNow(status: SchedulerHostStatus, request: SlotRequest): Admission {
  const ever = canEverSatisfy(status, request);
  if (!ever.ok) return ever;
  if (status.errors.length > 0) {
    return { ok: false, reason: `host status has errors: ${status.errors.join("; ")}` };
  }
  return fitsFreeCapacity(status, request);
}

/** Whether the request fits the free resources; the allocation-free form of {@linkcode fitsFreeCapacity}. */
export function fitsFree(
  status: Pick<SchedulerHostStatus, "freeCpuCores" | "freeMemoryBytes" | "freeTempStorageBytes">,
  request: Pick<SlotRequest, "cpuCores" | "memoryBytes" | "tempStorageBytes">,
): boolean {
  return request.cpuCores <= status.freeCpuCores && request.memoryBytes <= status.freeMemoryBytes &&
    request.tempStorageBytes <= status.freeTempStorageBytes;
}

/** Only the resource part of {@linkcode canRunNow}, with the reason when it does not fit. */
export function fitsFreeCapacity(
  status: Pick<SchedulerHostStatus, "freeCpuCores" | "freeMemoryBytes" | "freeTempStorageBytes">,
  request: Pick<SlotRequest, "cpuCores" | "memoryBytes" | "tempStorageBytes">,
): Admission {
  if (request.cpuCores > status.freeCpuCores) {
    return { ok: false, reason: `needs ${request.cpuCores} free cpu cores, ${status.freeCpuCores} free` };
  }
  if (request.memoryBytes > status.freeMemoryBytes) {
    return {
      ok: false,
      reason: `needs ${request.memoryBytes} free memory bytes, ${status.freeMemoryBytes} free`,
    };
  }
  if (request.tempStorageBytes > status.freeTempStorageBytes) {
    return {
      ok: false,
      reason:
        `needs ${request.tempStorageBytes} free temp storage bytes, ${status.freeTempStorageBytes} free`,
    };
  }
  return OK;
}

/**
 * Placement score, lower is better: load, memory and storage pressure after
 * reservations, a little for queue length, and a capped bonus for preferred tags.
 */
export function placementScore(
  status: SchedulerHostStatus,
  request: Pick<SlotRequest, "preferredHostTags">,
  preferredTagBonus = 0.25,
): number {
  const memoryPressure = pressure(status.freeMemoryBytes, status.memoryTotalBytes);
  const storagePressure = pressure(status.freeTempStorageBytes, status.workTotalBytes);
  const matches = request.preferredHostTags.filter((tag) => status.tags.includes(tag)).length;
  return status.loadPerCpu + memoryPressure + storagePressure + 0.1 * status.queueLength -
    Math.min(0.75, preferredTagBonus * matches);
}

function pressure(free: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(1, Math.max(0, 1 - free / total));
}

/** A resource sample of the local host, taken by the host kernel; the scheduler adds reservations. */
export interface HostSample {
  hostName: string;
  hostUrl: string;
  /** Epoch ms of the sample. */
  observedAt: number;
  cpuCount: number;
  eligibleCpuIds: number[];
  affinitySupported: boolean;
  load1: number;
  /** Cores the machine's other processes kept busy since the previous sample (Linux; see other_cpu.ts). */
  otherCpuBusy?: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  workTotalBytes: number;
  workFreeBytes: number;
  tags: string[];
  properties: Record<string, string>;
  errors: string[];
}

/** Reservations and queue state the scheduler adds to a {@linkcode HostSample}. */
export interface Reservations {
  queueLength: number;
  activeLeases: number;
  reservedCpuCores: number;
  reservedMemoryBytes: number;
  reservedTempStorageBytes: number;
  /** Cores free by CPU-id bookkeeping (see `LeaseTable.freeCpuCores`). */
  freeCpuCores: number;
}

/** Combines a sample with reservations into the status peers and placement see. */
export function buildHostStatus(sample: HostSample, reservations: Reservations): SchedulerHostStatus {
  const cpuCount = Math.max(1, sample.cpuCount);
  return {
    ...sample,
    eligibleCpuIds: [...sample.eligibleCpuIds],
    tags: [...sample.tags],
    properties: { ...sample.properties },
    errors: [...sample.errors],
    loadPerCpu: sample.load1 / cpuCount,
    ...reservations,
    freeMemoryBytes: Math.max(0, sample.memoryAvailableBytes - reservations.reservedMemoryBytes),
    freeTempStorageBytes: Math.max(0, sample.workFreeBytes - reservations.reservedTempStorageBytes),
  };
}

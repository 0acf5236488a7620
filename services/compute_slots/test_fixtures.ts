/**
 * Shared builders for the compute-slots tests: a simulated clock, host
 * samples and peer statuses with round numbers.
 *
 * @module
 */
import type { HostSample, SchedulerHostStatus } from "./host_status.ts";
import { buildHostStatus } from "./host_status.ts";
import type { SlotRequest, SlotRequestInput } from "./request.ts";
import { normalizeSlotRequest } from "./request.ts";

export const GIB = 1024 ** 3;

/** A clock the test moves by hand. */
export class SimulatedClock {
  constructor(public ms = 1_700_000_000_000) {}
  readonly now = (): number => this.ms;
  advance(ms: number): number {
    this.ms += ms;
    return this.ms;
  }
}

/** A host with `cpus` eligible CPUs, 16 GiB RAM, 100 GiB work dir, idle. */
export function hostSample(overrides: Partial<HostSample> & { cpus?: number } = {}): HostSample {
  const { cpus = 4, ...rest } = overrides;
  return {
    hostName: "local",
    hostUrl: "http://local:8765",
    observedAt: 0,
    cpuCount: cpus,
    eligibleCpuIds: Array.from({ length: cpus }, (_, i) => i),
    affinitySupported: true,
    load1: 0,
    memoryTotalBytes: 16 * GIB,
    memoryAvailableBytes: 16 * GIB,
    workTotalBytes: 100 * GIB,
    workFreeBytes: 100 * GIB,
    tags: [],
    properties: {},
    errors: [],
    ...rest,
  };
}

/** A peer's status with nothing reserved; `free` cores free of `cpus`. */
export function peerStatus(
  name: string,
  options: { cpus?: number; free?: number; queueLength?: number; observedAt?: number } & Partial<HostSample> =
    {},
): SchedulerHostStatus {
  const { cpus = 4, free = cpus, queueLength = 0, observedAt = 0, ...rest } = options;
  const sample = hostSample({ cpus, hostName: name, hostUrl: `http://${name}:8765`, observedAt, ...rest });
  return buildHostStatus(sample, {
    queueLength,
    activeLeases: cpus - free,
    reservedCpuCores: cpus - free,
    reservedMemoryBytes: 0,
    reservedTempStorageBytes: 0,
    freeCpuCores: free,
  });
}

let counter = 0;

/** A normalised request; `agentId` defaults to a fresh one, `submittedAt` to the clock. */
export function slotRequest(clock: SimulatedClock, input: Partial<SlotRequestInput> = {}): SlotRequest {
  counter += 1;
  return normalizeSlotRequest({ agentId: `agent-${counter}`, jobId: "", ...input }, { now: clock.now });
}

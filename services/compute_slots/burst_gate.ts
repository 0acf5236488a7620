/**
 * Burst control for grants. Reservations decide whether a request fits;
 * the load average only paces how many grants go out at once, because it
 * lags a minute behind: right after a burst of grants the host still looks
 * idle.
 *
 * Where the sample measured the cores other processes keep busy (`other_cpu.ts`,
 * Linux), the estimate is those cores plus the cores this host's leases reserve
 * now: fresh, and exact for the host's own work. Elsewhere it is the sampled
 * load1 plus the cores granted since the sample minus the cores released since,
 * with the current reservations as a floor (reservations count immediately).
 *
 * @module
 */

/** What a load sample says about the host, for {@link projectedLoadPerCpu}. */
export interface LoadSample {
  load1: number;
  cpuCount: number;
  /** Cores other processes kept busy over the sample's window (`other_cpu.ts`); absent where unknown. */
  otherCpuBusy?: number;
}

/**
 * Load per CPU if the host's reservations were `reservedCpuCores`: the other processes' busy
 * cores plus the reservations where measured, else the load average with the reservations as a
 * floor. `sinceSample` is the load average's correction for grants and releases since it was taken.
 */
export function projectedLoadPerCpu(sample: LoadSample, reservedCpuCores: number, sinceSample = 0): number {
  const cpus = Math.max(1, sample.cpuCount);
  if (sample.otherCpuBusy !== undefined) return (sample.otherCpuBusy + reservedCpuCores) / cpus;
  return Math.max(sample.load1 + sinceSample, reservedCpuCores) / cpus;
}

/** Tracks grants and releases since the last load sample. */
export class BurstGate {
  #sample: LoadSample = { load1: 0, cpuCount: 1 };
  #observedAt = -Infinity;
  #granted = 0;
  #released = 0;
  readonly #threshold: number;

  /** `threshold` is the load per CPU below which further grants may go out. */
  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  /** A new load sample; counters restart when it is newer than the last one. */
  observe(sample: LoadSample & { observedAt: number }): void {
    if (sample.observedAt > this.#observedAt) {
      this.#granted = 0;
      this.#released = 0;
      this.#observedAt = sample.observedAt;
    }
    this.#sample = { load1: sample.load1, cpuCount: sample.cpuCount, otherCpuBusy: sample.otherCpuBusy };
  }

  granted(cores: number): void {
    this.#granted += cores;
  }

  released(cores: number): void {
    this.#released += cores;
  }

  /** Projected load per CPU given the cores reserved now. */
  loadPerCpu(reservedCpuCores: number): number {
    return projectedLoadPerCpu(this.#sample, reservedCpuCores, this.#granted - this.#released);
  }

  /** Whether one more grant may go out now. */
  allows(reservedCpuCores: number): boolean {
    return this.loadPerCpu(reservedCpuCores) < this.#threshold;
  }
}

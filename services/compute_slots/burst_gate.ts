/**
 * Burst control for grants. Reservations decide whether a request fits;
 * the load average only paces how many grants go out at once, because it
 * lags a minute behind: right after a burst of grants the host still looks
 * idle.
 *
 * The estimate is the sampled load1 plus the cores granted since the sample
 * minus the cores released since, with the current reservations as a floor
 * (reservations count immediately).
 *
 * @module
 */

/** Tracks grants and releases since the last load sample. */
export class BurstGate {
  #load1 = 0;
  #cpuCount = 1;
  #observedAt = -Infinity;
  #granted = 0;
  #released = 0;
  readonly #threshold: number;

  /** `threshold` is the load per CPU below which further grants may go out. */
  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  /** A new load sample; counters restart when it is newer than the last one. */
  observe(sample: { observedAt: number; load1: number; cpuCount: number }): void {
    if (sample.observedAt > this.#observedAt) {
      this.#granted = 0;
      this.#released = 0;
      this.#observedAt = sample.observedAt;
    }
    this.#load1 = sample.load1;
    this.#cpuCount = Math.max(1, sample.cpuCount);
  }

  granted(cores: number): void {
    this.#granted += cores;
  }

  released(cores: number): void {
    this.#released += cores;
  }

  /** Projected load per CPU given the cores reserved now. */
  loadPerCpu(reservedCpuCores: number): number {
    return Math.max(this.#load1 + this.#granted - this.#released, reservedCpuCores) / this.#cpuCount;
  }

  /** Whether one more grant may go out now. */
  allows(reservedCpuCores: number): boolean {
    return this.loadPerCpu(reservedCpuCores) < this.#threshold;
  }
}

/**
 * A short history of the host's load and memory for the dashboard's charts: a sample every
 * `hostSampleMs` (`PAGLETS_HOST_SAMPLE_MS`, default 5 s), the last 120 kept (10 minutes at the default).
 */
import { readResources } from "../resources.ts";
import { cancel, every, type Timer } from "../../agents/timers.ts";

export interface HostSample {
  at: number;
  load1: number;
  memUsedBytes: number;
  memTotalBytes: number;
  rssBytes: number;
}

const KEEP = 120;

export class HostSamples {
  readonly #samples: HostSample[] = [];
  readonly #dataDir: string;
  readonly #intervalMs: number;
  #timer?: Timer;

  constructor(dataDir: string, intervalMs: number) {
    this.#dataDir = dataDir;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    void this.#sample();
    this.#timer = every(this.#intervalMs, () => void this.#sample(), { ref: false });
  }

  stop(): void {
    cancel(this.#timer);
  }

  list(): HostSample[] {
    return [...this.#samples];
  }

  async #sample(): Promise<void> {
    try {
      const r = await readResources(this.#dataDir, { disk: false });
      this.#samples.push({
        at: Date.now(),
        load1: r.load1,
        memUsedBytes: r.memTotal - r.memAvailable,
        memTotalBytes: r.memTotal,
        rssBytes: Deno.memoryUsage().rss,
      });
      if (this.#samples.length > KEEP) this.#samples.shift();
    } catch { /* a reading that fails leaves a gap in the chart */ }
  }
}

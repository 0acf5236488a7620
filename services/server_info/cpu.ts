/**
 * CPU busy percentage from `/proc/stat` (Linux). Two readings of the cumulative jiffy counters
 * give the share of non-idle time between them; a {@link CpuSampler} keeps its last reading so
 * "since the last sample" needs no waiting.
 *
 * @module
 */
import { sleep } from "../../agents/timers.ts";

/** Cumulative CPU time in clock ticks. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** What `/proc/stat` says: all CPUs together, each CPU, and the boot time. */
export interface ProcStat {
  all: CpuTimes;
  perCpu: CpuTimes[];
  /** Epoch ms of the boot, or null when not listed. */
  bootTime: number | null;
}

/**
 * Parses `/proc/stat`. Idle time is `idle + iowait`; guest time is already part of user time, so
 * the total is the first eight counters.
 *
 * @example
 * ```ts
 * const stat = parseProcStat("cpu  10 0 10 80 0 0 0 0 0 0\nbtime 1700000000\n");
 * // stat.all → { busy: 20, total: 100 }
 * ```
 */
export function parseProcStat(text: string): ProcStat {
  let all: CpuTimes | null = null;
  const perCpu: CpuTimes[] = [];
  let bootTime: number | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("cpu")) {
      const [label, ...rest] = line.trim().split(/\s+/);
      const n = rest.slice(0, 8).map(Number);
      while (n.length < 8) n.push(0);
      const total = n.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
      const idle = (n[3] || 0) + (n[4] || 0);
      const times = { busy: total - idle, total };
      if (label === "cpu") all = times;
      else perCpu.push(times);
    } else if (line.startsWith("btime ")) {
      const seconds = Number(line.slice(6).trim());
      if (Number.isFinite(seconds)) bootTime = seconds * 1000;
    }
  }
  if (!all) throw new Error("no 'cpu' line in /proc/stat");
  return { all, perCpu, bootTime };
}

/** Busy share between two readings in percent (0..100), or null when no time passed. */
export function busyPercent(before: CpuTimes, after: CpuTimes): number | null {
  const total = after.total - before.total;
  if (total <= 0) return null;
  const busy = Math.max(0, after.busy - before.busy);
  return round(Math.min(100, (busy / total) * 100), 1);
}

/** Reads `/proc/stat`; null where it does not exist. */
export async function readProcStat(): Promise<ProcStat | null> {
  try {
    return parseProcStat(await Deno.readTextFile("/proc/stat"));
  } catch {
    return null;
  }
}

/** Options of {@link CpuSampler.percent}. */
export interface CpuPercentOptions {
  /** Measure over this many ms; 0 = since the last sample. @default 0 */
  intervalMs?: number;
  /** When there is no earlier sample (or no time passed), measure over this long. @default 200 */
  minimumMs?: number;
}

/** CPU busy percentage of the whole machine, remembering its last reading. */
export class CpuSampler {
  #last: CpuTimes | null = null;

  /**
   * Takes a first reading now (synchronously), so that the first `percent()` some ticks later measures
   * since then instead of waiting `minimumMs`.
   */
  prime(): void {
    try {
      this.#last = parseProcStat(Deno.readTextFileSync("/proc/stat")).all;
    } catch { /* no /proc/stat: percent() says null */ }
  }

  /** Busy percent over `intervalMs`, or since the last call; null where /proc/stat is missing. */
  async percent(options: CpuPercentOptions = {}): Promise<number | null> {
    const { intervalMs = 0, minimumMs = 200 } = options;
    if (!Number.isFinite(intervalMs) || intervalMs < 0) {
      throw new RangeError(`Cannot measure CPU as 'intervalMs' must be >= 0: current value is ${intervalMs}`);
    }
    let before = intervalMs > 0 ? (await readProcStat())?.all ?? null : this.#last;
    if (intervalMs > 0) await sleep(intervalMs);
    let after = (await readProcStat())?.all ?? null;
    if (!after) return null;
    let percent = before ? busyPercent(before, after) : null;
    if (percent === null) {
      before = after;
      await sleep(minimumMs);
      after = (await readProcStat())?.all ?? after;
      percent = busyPercent(before, after);
    }
    this.#last = after;
    return percent;
  }
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * How many cores the machine's other processes keep busy: the burst gate's fresh measure of load
 * that is not this host's own (see `burst_gate.ts`).
 *
 * The load average lags a minute behind: a minute after a burst of work ended it still reports
 * it, and a host would hold back grants on an idle machine. This meter compares two readings of
 * `/proc/stat` (CPU time of the whole machine) and `/proc/self/stat` (CPU time of this process, all
 * threads): the machine's busy time minus this process's, over the time between the readings,
 * in cores. This process's own threads (its leased compute steps included) are left out because
 * the scheduler counts its leases by reservation, exactly and at once.
 *
 * The first reading is taken when this module loads (at host start), so the first sample covers
 * the host's start. Off Linux, or over a window too short to measure, a sample is `undefined` and
 * the gate falls back to the load average.
 *
 * @module
 */

import { procCpuTicks } from "../../host/proc_cpu.ts";

/** Below this many clock ticks per CPU (30 ms) a window says too little; the next sample gets it. */
const MIN_TICKS_PER_CPU = 3;

/** One reading, in ticks: the machine's busy and total time over all CPUs, this process's time. */
export interface CpuReading {
  busy: number;
  total: number;
  self: number;
  cpus: number;
}

/** Reads the first line of /proc/stat and this process's utime + stime; null off Linux. */
export function readCpu(): CpuReading | null {
  try {
    const stat = Deno.readTextFileSync("/proc/stat");
    const lines = stat.split("\n");
    const head = lines[0];
    if (!head.startsWith("cpu ")) return null;
    // user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = head.slice(4).trim()
      .split(/\s+/).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    const cpus = lines.filter((line) => /^cpu\d/.test(line)).length || 1;
    const selfTicks = procCpuTicks("/proc/self/stat");
    if (selfTicks === undefined || ![busy, idle, iowait].every(Number.isFinite)) return null;
    return { busy, total: busy + idle + iowait, self: selfTicks, cpus };
  } catch {
    return null;
  }
}

/** Cores other processes kept busy between two readings; undefined when the window is too short. */
export function otherCoresBetween(from: CpuReading, to: CpuReading): number | undefined {
  const total = to.total - from.total;
  if (total < MIN_TICKS_PER_CPU * to.cpus) return undefined;
  const others = (to.busy - from.busy) - (to.self - from.self);
  return Math.max(0, (others * to.cpus) / total);
}

const firstReading = readCpu();
/** No /proc to read off Linux: every sample is undefined, without trying. */
const READABLE = Deno.build.os === "linux";

/** Samples the cores other processes keep busy, each sample over the time since the previous one. */
export class OtherCpuMeter {
  #last: CpuReading | null = firstReading;

  /** Cores busy with other processes' work since the previous sample; undefined where unknown. */
  sample(): number | undefined {
    if (!READABLE) return undefined;
    const now = readCpu();
    if (now === null) return undefined;
    if (this.#last === null) {
      this.#last = now;
      return undefined;
    }
    const cores = otherCoresBetween(this.#last, now);
    if (cores !== undefined) this.#last = now;
    return cores;
  }
}

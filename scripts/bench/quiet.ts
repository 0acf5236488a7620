/**
 * What the Pi benchmarks share: waiting for an idle machine before each timed run (ours needs both
 * CPUs, `pi` one, so other load hurts ours more), how fast each CPU runs now, and comparing outputs
 * byte by byte.
 *
 * @module
 */
import { eligibleCpuIds } from "../../host/compute/affinity.ts";
import { median } from "./stats.ts";

/** Busy and total jiffies over all CPUs, from /proc/stat (undefined where there is none). */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * Waits (at most `maxMs`) until the CPUs were at least 90% idle over half a second and, when
 * `maxLoad1` is given, load1 is below it. False when the machine stayed busy.
 */
export async function waitForQuiet(maxMs: number, maxLoad1 = Infinity): Promise<boolean> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 500));
    const b = cpuTimes();
    const idle = !a || !b || (b.busy - a.busy) <= 0.1 * (b.total - a.total);
    if (idle && Deno.loadavg()[0] < maxLoad1) return true;
  }
  return false;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Exits with a message when Debian's `pi` (the reference both benchmarks run) is not installed. */
export async function requireDebianPi(): Promise<void> {
  try {
    await new Deno.Command("pi", { args: ["1"], stdout: "null", stderr: "null" }).output();
  } catch {
    console.error("Debian's `pi` program is missing (apt-get install -y pi)");
    Deno.exit(1);
  }
}

/** A CPU's time for the probe: median ms of `pi PROBE_DIGITS` pinned to it. */
export interface CpuSpeed {
  cpu: number;
  ms: number;
}

/** Digits of the probe run on each CPU (~50 ms of one core here). */
const PROBE_DIGITS = 100_000;

/**
 * How fast each CPU this process may use runs the same work now: `pi 100000` pinned to it with
 * `taskset`, `rounds` times per CPU in alternation, medians. On a VM the vCPUs need not run alike
 * (a vCPU whose host thread shares its core with a busy sibling runs slower, which no steal time
 * shows); a run that computes on all of them then waits for the slowest. Undefined without
 * `taskset` or with one CPU.
 */
export async function cpuSpeeds(rounds = 3): Promise<CpuSpeed[] | undefined> {
  const cpus = eligibleCpuIds();
  if (cpus.length < 2) return undefined;
  const times = new Map<number, number[]>(cpus.map((c) => [c, []]));
  for (let r = 0; r < rounds; r++) {
    for (const cpu of cpus) {
      const t0 = performance.now();
      try {
        const out = await new Deno.Command("taskset", {
          args: ["-c", String(cpu), "pi", String(PROBE_DIGITS)],
          stdout: "null",
          stderr: "null",
        }).output();
        if (!out.success) return undefined;
      } catch {
        return undefined; // no taskset
      }
      times.get(cpu)!.push(performance.now() - t0);
    }
  }
  return cpus.map((cpu) => ({ cpu, ms: median(times.get(cpu)!) }));
}

/** One line on {@link cpuSpeeds}: each CPU's time, and the slowest against the fastest. */
export function describeCpuSpeeds(speeds: CpuSpeed[] | undefined): string {
  if (!speeds) return "CPU speeds: not measured (one CPU, no taskset, or the pinned pi failed)";
  const fastest = Math.min(...speeds.map((s) => s.ms));
  const slowest = Math.max(...speeds.map((s) => s.ms));
  const each = speeds.map((s) => `CPU ${s.cpu} ${s.ms.toFixed(0)} ms`).join(", ");
  const ratio = slowest / fastest;
  const note = ratio > 1.1
    ? ": the CPUs run at different speeds now, and a run on all of them waits for the slowest"
    : "";
  return `CPU speeds (pi ${PROBE_DIGITS} pinned to each, medians): ${each}; slowest ${
    ratio.toFixed(2)
  }× the fastest${note}`;
}

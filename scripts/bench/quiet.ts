/**
 * What the Pi benchmarks share: waiting for an idle machine before each timed run (ours needs both
 * CPUs, `pi` one, so other load hurts ours more), and comparing outputs byte by byte.
 *
 * @module
 */

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

/**
 * Command line: print digits of Pi computed on both cores.
 *
 *   deno run -A examples/pi/cli.ts N            → "3." and the next N−1 decimals (N digits, like Debian's `pi N`)
 *   deno run -A examples/pi/cli.ts N --start S  → the N digits at positions [S, S + N) (position 0 is the "3")
 *   --timings                                   → phase breakdown and peak memory on stderr
 */
import { computePiDigits, type PhaseTimings } from "./parallel.ts";
import { writeAll } from "../../host/write_all.ts";

/** Peak resident set size in MiB: VmHWM where /proc exists, else the current RSS. */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return Deno.memoryUsage().rss / 2 ** 20;
}

function parseArgs(args: string[]): { count: number; start: number; timings: boolean } {
  let count = NaN;
  let start = 0;
  let timings = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--timings") timings = true;
    else if (args[i] === "--start") start = Number(args[++i]);
    else count = Number(args[i]);
  }
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(start) || start < 0) {
    console.error("usage: cli.ts DIGITS [--start POSITION] [--timings]");
    Deno.exit(2);
  }
  return { count, start, timings };
}

if (import.meta.main) {
  const { count, start, timings: show } = parseArgs(Deno.args);
  const timings = {} as PhaseTimings;
  const digits = await computePiDigits(count, { start, timings });
  const text = start === 0 ? `${digits[0]}.${digits.slice(1)}\n` : `${digits}\n`;
  await writeAll(Deno.stdout, new TextEncoder().encode(text));
  if (show) {
    const parts = Object.entries(timings).map(([k, v]) => `${k}=${v.toFixed(1)}ms`);
    console.error(`${parts.join(" ")} peakRss=${peakRssMiB().toFixed(0)}MiB`);
  }
}

/**
 * Benchmark: our parallel Pi (examples/pi) against Debian's `pi` program (CLN), end to end.
 *
 *   deno run -A scripts/bench/pi_native.ts [--digits N] [--runs R] [--ten-million]
 *
 * Both programs run as fresh processes printing N digits to a pipe, alternating, R times each (after one
 * untimed warm-up of each); outputs must be byte-identical. Prints the median and best wall times, the ratio
 * ours/native (the target is ≤ 1.0), and the median phase breakdown our CLI reports. --ten-million adds one
 * 10,000,000-digit run of each with our peak RSS (it takes a while).
 *
 * Ours uses both cores and `pi` one, so other load on the machine hurts ours more: before each run the
 * script waits (up to 10 s) for the CPUs to be idle, and says so when they never were.
 */
import { cpuSpeeds, describeCpuSpeeds, requireDebianPi, sameBytes, waitForQuiet } from "./quiet.ts";
import { median } from "./stats.ts";
const root = new URL("../../", import.meta.url);
const cli = new URL("examples/pi/cli.ts", root).pathname;

interface Run {
  ms: number;
  stdout: Uint8Array;
  stderr: string;
}

let noisyRuns = 0;

async function timed(cmd: string, args: string[]): Promise<Run> {
  if (!await waitForQuiet(10_000)) noisyRuns++;
  const t = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", cwd: root.pathname })
    .output();
  const ms = performance.now() - t;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${stderr}`);
  return { ms, stdout: out.stdout, stderr };
}

const ours = (digits: number) => timed(Deno.execPath(), ["run", "-A", cli, String(digits), "--timings"]);
const native = (digits: number) => timed("pi", [String(digits)]);

/** "split=12.3ms divide=4.5ms peakRss=120MiB" → { split: 12.3, divide: 4.5, peakRss: 120 } */
function parseReport(stderr: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of stderr.matchAll(/(\w+)=([\d.]+)(?:ms|MiB)/g)) out[m[1]] = Number(m[2]);
  return out;
}

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

async function compare(digits: number, runs: number): Promise<void> {
  const oursMs: number[] = [];
  const nativeMs: number[] = [];
  const phases: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    // Alternate the order so that neither side always runs on a warmer machine.
    let a: Run;
    let b: Run;
    if (i % 2 === 0) {
      a = await ours(digits);
      b = await native(digits);
    } else {
      b = await native(digits);
      a = await ours(digits);
    }
    if (!sameBytes(a.stdout, b.stdout)) throw new Error(`outputs differ at ${digits} digits`);
    oursMs.push(a.ms);
    nativeMs.push(b.ms);
    for (const [k, v] of Object.entries(parseReport(a.stderr))) (phases[k] ??= []).push(v);
  }
  const o = median([...oursMs]);
  const n = median([...nativeMs]);
  const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  const best = (xs: number[]) => Math.min(...xs).toFixed(0);
  console.log(`${digits.toLocaleString("en")} digits, ${runs} runs each, identical output`);
  console.log(
    `  ours   (deno, 2 threads): median ${o.toFixed(0)} ms, best ${best(oursMs)}  [${list(oursMs)}]`,
  );
  console.log(
    `  native (pi, CLN)        : median ${n.toFixed(0)} ms, best ${best(nativeMs)}  [${list(nativeMs)}]`,
  );
  const bestRatio = Math.min(...oursMs) / Math.min(...nativeMs);
  console.log(
    `  ratio ours/native: ${(o / n).toFixed(2)} of medians, ${bestRatio.toFixed(2)} of bests (target ≤ 1.00)`,
  );
  const order = ["sqrt", "split", "merge", "divide", "digits", "total", "peakRss"];
  const line = order.filter((k) => phases[k]).map((k) => {
    const unit = k === "peakRss" ? "MiB" : "ms";
    return `${k} ${median(phases[k]).toFixed(k === "peakRss" ? 0 : 1)}${unit}`;
  });
  console.log(
    `  our phases on the calling thread (median; the worker sums the right half meanwhile; total excludes`,
  );
  console.log(`  process start and output):`);
  console.log(`    ${line.join(" | ")}`);
}

if (import.meta.main) {
  await requireDebianPi();
  const digits = flag("--digits", 1_000_000);
  const runs = flag("--runs", 3);
  await ours(digits); // warm-up: module cache, page cache
  await native(digits);
  console.log(`before: ${describeCpuSpeeds(await cpuSpeeds())}`);
  await compare(digits, runs);
  if (Deno.args.includes("--ten-million")) await compare(10_000_000, 1);
  console.log(`after:  ${describeCpuSpeeds(await cpuSpeeds())}`);
  if (noisyRuns > 0) console.log(`note: ${noisyRuns} runs started while other processes kept the CPUs busy`);
}

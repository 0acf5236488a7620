/**
 * Benchmark: `paglets examples pi` end to end, as a user runs it, against Debian's `pi` (CLN).
 *
 *   deno run -A scripts/bench/pi_end_to_end.ts [--digits N] [--runs R] [--ten-million] [--baseline DIR]
 *     [--running-host]
 *
 * Each run starts `scripts/paglets examples pi --digits N --output FILE` as a fresh process with no mesh
 * running, so the time includes process start, the embedded host's start and stop, paglet creation and
 * every transfer; `pi N` runs alternately (one untimed warm-up of each first). Both outputs must be
 * byte-identical. Prints medians and bests, the ratio ours/pi (the target is ≤ 1.00), and the time from
 * the process start to the first digits on stdout (the target is < 1 s). --ten-million adds one
 * 10,000,000-digit run of each, with the peak resident memory (`/usr/bin/time`, the whole process: its
 * threads are the CLI, the host and every compute thread).
 *
 * Also prints the median CPU time (user + system, all threads) of each side's processes: on a machine
 * with more than one CPU ours computes on several threads, `pi` on one.
 *
 * `--baseline DIR` also runs the same command from the checkout in DIR (the code before a change, its
 * host bundle built) in every round, the three in rotating order, and prints ours against it: medians,
 * each round's ratio, and in how many rounds ours was faster.
 *
 * `--running-host` measures the other way a user meets it: a host already runs (`paglets host`, started
 * by the script with a data dir of its own, one per checkout) and each run is `examples pi --entry URL`
 * against it. The untimed warm-up run is each host's first Pi job (its pi-math threads start then and
 * stay while jobs come within the service's idle timeout, 60 s); its time is printed apart. A run that
 * came after a longer gap (waiting for a quiet machine) found them stopped: such runs are counted and
 * reported. `--ten-million` is refused with it (the memory measured would be the CLI's).
 *
 * Before and after the runs it prints how fast each CPU runs the same pinned work (quiet.ts
 * `cpuSpeeds`): on a VM one vCPU may run ~30% slower than the other for a while, which `pi` meets on
 * some runs and ours (computing on both) on all of them.
 *
 * The Pi job places its batches by load (one per free load slot: ⌈cpus × 1.0 − load1⌉), so before each
 * run the script waits (up to 60 s) until the CPUs are idle and load1 is below 1, as on a machine where
 * a user starts it; runs that started on a busier machine are counted and reported.
 */
import { cpuSpeeds, describeCpuSpeeds, requireDebianPi, sameBytes, waitForQuiet } from "./quiet.ts";
import { median } from "./stats.ts";
import { childrenCpuMs } from "./child_cpu.ts";
import { type SpawnedServer, spawnPrintingUrl } from "../spawn_host.ts";
import { stopServers } from "./wrk.ts";
import { PiMathContract } from "../../examples/pi/math_service.ts";
const root = new URL("../../", import.meta.url).pathname;
/** This checkout, as `--baseline` names another one. */
const here = root.replace(/\/$/, "");

interface Run {
  ms: number;
  /** From the spawn to the first bytes on stdout. */
  firstMs: number;
  stdout: Uint8Array;
  stderr: string;
  peakKiB?: number;
  /** CPU time of the process (all its threads), user + system; null where it cannot be read. */
  cpuMs: number | null;
}

let busyStarts = 0;

async function timed(cmd: string, args: string[], measureMemory = false): Promise<Run> {
  if (!await waitForQuiet(60_000, 1)) busyStarts++;
  const argv = measureMemory ? ["-f", "%M", cmd, ...args] : args;
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const child = new Deno.Command(measureMemory ? "/usr/bin/time" : cmd, {
    args: argv,
    stdout: "piped",
    stderr: "piped",
    cwd: root,
  }).spawn();
  let firstMs = NaN;
  const chunks: Uint8Array[] = [];
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      if (Number.isNaN(firstMs)) firstMs = performance.now() - t0;
      chunks.push(chunk);
    }
  })();
  const [status, errBytes] = await Promise.all([
    child.status,
    new Response(child.stderr).arrayBuffer(),
    reading,
  ]);
  const ms = performance.now() - t0;
  const cpu1 = childrenCpuMs();
  const cpuMs = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
  const stderr = new TextDecoder().decode(errBytes);
  if (!status.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${stderr}`);
  const stdout = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((off, c) => (stdout.set(c, off), off + c.length), 0);
  const peak = measureMemory ? Number(stderr.trim().split("\n").at(-1)) : undefined;
  return { ms, firstMs, stdout, stderr, peakKiB: peak, cpuMs };
}

const work = await Deno.makeTempDir({ prefix: "pi-bench-" });
const output = `${work}/pi.txt`;
const baselineDir = Deno.args.includes("--baseline")
  ? Deno.args[Deno.args.indexOf("--baseline") + 1]
  : undefined;
const runningHost = Deno.args.includes("--running-host");
/** With --running-host: the host each checkout's runs talk to (see startHost). */
const entries = new Map<string, SpawnedServer>();

/** `paglets host` of the checkout at `dir`, on a free port with a data dir of its own. */
async function startHost(dir: string): Promise<void> {
  const n = entries.size;
  const args = ["host", "--name", `bench-${n}`, "--port", "0", "--data-dir", `${work}/host-${n}`, "--json"];
  entries.set(dir, await spawnPrintingUrl(`${dir}/scripts/paglets`, args, { timeoutMs: 30_000 }));
}

/** With --running-host: when each host's last Pi job ended (performance.now()). */
const lastJobEnd = new Map<string, number>();
/** Runs against a running host that came after its pi-math service's idle timeout (see piCommand). */
let coldRuns = 0;

/** `examples pi` of the checkout at `dir` (against its running host with --running-host). */
async function piCommand(dir: string, digits: number, memory = false): Promise<Run> {
  const entry = entries.get(dir);
  const args = ["examples", "pi", "--digits", String(digits), "--output", output];
  if (!entry) return await timed(`${dir}/scripts/paglets`, args, memory);
  const run = await timed(`${dir}/scripts/paglets`, [...args, "--entry", entry.url], memory);
  // A host's pi-math threads stop after the service's idle timeout without a job: a run after a
  // longer gap (a long wait for a quiet machine) starts them again, as the host's first job did.
  const last = lastJobEnd.get(dir);
  if (last !== undefined && performance.now() - run.ms - last > PiMathContract.idleTimeoutMs) coldRuns++;
  lastJobEnd.set(dir, performance.now());
  return run;
}

const ours = (digits: number, memory = false) => piCommand(here, digits, memory);
const native = (digits: number, memory = false) => timed("pi", [String(digits)], memory);
const baseline = (digits: number) => piCommand(baselineDir!, digits);

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

async function check(run: Run, reference: Run, digits: number): Promise<void> {
  if (!sameBytes(run.stdout, reference.stdout)) throw new Error(`stdout differs from pi ${digits}`);
  if (!sameBytes(await Deno.readFile(output), reference.stdout)) {
    throw new Error(`--output differs from pi ${digits}`);
  }
}

async function compare(digits: number, runs: number, reference: Run): Promise<void> {
  const o: Run[] = [];
  const n: Run[] = [];
  const b: Run[] = [];
  const sides: [Run[], (digits: number) => Promise<Run>][] = [[o, ours], [n, native]];
  if (baselineDir) sides.push([b, baseline]);
  for (let i = 0; i < runs; i++) {
    // Rotate the order so that no side always runs on a warmer machine.
    for (let k = 0; k < sides.length; k++) {
      const [runsOf, run] = sides[(k + i) % sides.length];
      const r = await run(digits);
      // Checked at once: the next run writes the same --output file.
      if (run !== native) await check(r, reference, digits);
      runsOf.push(r);
    }
  }
  const ms = (rs: Run[]) => rs.map((r) => r.ms);
  const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  const [om, nm] = [median(ms(o)), median(ms(n))];
  const ratio = om / nm;
  const first = median(o.map((r) => r.firstMs));
  console.log(`${digits.toLocaleString("en")} digits, ${runs} runs each, identical stdout and --output file`);
  console.log(
    `  scripts/paglets examples pi --digits ${digits} --output FILE${runningHost ? " --entry URL" : ""}`,
  );
  console.log(`    median ${om.toFixed(0)} ms, best ${Math.min(...ms(o)).toFixed(0)}  [${list(ms(o))}]`);
  console.log(`  pi ${digits}`);
  console.log(`    median ${nm.toFixed(0)} ms, best ${Math.min(...ms(n)).toFixed(0)}  [${list(ms(n))}]`);
  console.log(
    `  ratio ours/pi: ${ratio.toFixed(2)} of medians (target ≤ 1.00: ${ratio <= 1 ? "met" : "NOT met"})`,
  );
  // Each run against the `pi` run beside it: drift of the shared machine cancels out of these.
  const paired = o.map((r, i) => r.ms / n[i].ms);
  const best = Math.min(...ms(o)) / Math.min(...ms(n));
  console.log(
    `  paired runs: ratio median ${median([...paired]).toFixed(2)} [${
      paired.map((x) => x.toFixed(2)).join(", ")
    }]; ` +
      `best/best ${best.toFixed(2)}`,
  );
  console.log(
    `  first digits on stdout after ${first.toFixed(0)} ms (median from the process start; target ≤ 600 ms: ${
      first <= 600 ? "met" : "NOT met"
    })  [${list(o.map((r) => r.firstMs))}]`,
  );
  const [oCpu, nCpu] = [o, n].map((rs) => rs.map((r) => r.cpuMs));
  if (![...oCpu, ...nCpu].includes(null)) {
    const [oc, nc] = [median(oCpu as number[]), median(nCpu as number[])];
    console.log(
      `  CPU time, user + system, median: ours ${oc.toFixed(0)} ms, pi ${nc.toFixed(0)} ms (${
        (oc / nc).toFixed(2)
      }×)${runningHost ? "; ours is the command's own process, the host's threads computed" : ""}`,
    );
  }
  if (!baselineDir) return;
  const bm = median(ms(b));
  const rounds = o.map((r, i) => r.ms / b[i].ms);
  console.log(
    `  baseline ${baselineDir}: median ${bm.toFixed(0)} ms, best ${Math.min(...ms(b)).toFixed(0)}  [${
      list(ms(b))
    }]`,
  );
  console.log(
    `  ours/baseline: ${(om / bm).toFixed(3)} of medians; per round ${
      rounds.map((x) => x.toFixed(3)).join(", ")
    }; ours faster in ${rounds.filter((x) => x < 1).length} of ${runs} rounds`,
  );
}

async function tenMillion(): Promise<void> {
  const digits = 10_000_000;
  const o = await ours(digits, true);
  const n = await native(digits, true);
  await check(o, n, digits);
  console.log(`${digits.toLocaleString("en")} digits on one host, identical to pi ${digits}`);
  console.log(
    `  ours: ${(o.ms / 1000).toFixed(1)} s, peak RSS ${
      (o.peakKiB! / 1024).toFixed(0)
    } MiB, first digits after ${(o.firstMs / 1000).toFixed(1)} s`,
  );
  console.log(`  pi:   ${(n.ms / 1000).toFixed(1)} s, peak RSS ${(n.peakKiB! / 1024).toFixed(0)} MiB`);
}

if (import.meta.main) {
  await requireDebianPi();
  const digits = flag("--digits", 1_000_000);
  const runs = flag("--runs", 5);
  if (baselineDir && (await Deno.realPath(baselineDir)) === (await Deno.realPath(here))) {
    console.error(`--baseline names this checkout (${here}): give another one`);
    Deno.exit(2);
  }
  if (runningHost && Deno.args.includes("--ten-million")) {
    // Its peak memory would be the CLI's, not the running host's that computes.
    console.error("--ten-million measures the embedded host's memory: run it without --running-host");
    Deno.exit(2);
  }
  console.log(`${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}`);
  try {
    if (runningHost) {
      await startHost(here);
      if (baselineDir) await startHost(baselineDir);
      console.log(
        `against running hosts (examples pi --entry URL): ${
          [...entries.values()].map((e) => e.url).join(", ")
        }`,
      );
    }
    // Warm-up: module and code caches, page cache; with --running-host, each host's first Pi job.
    const first = await ours(digits);
    const firstBaseline = baselineDir ? await baseline(digits) : undefined;
    if (runningHost) {
      console.log(`  first Pi job of this checkout's host (untimed warm-up): ${first.ms.toFixed(0)} ms`);
      if (firstBaseline) {
        console.log(`  first Pi job of the baseline's host: ${firstBaseline.ms.toFixed(0)} ms`);
      }
    }
    console.log(`before: ${describeCpuSpeeds(await cpuSpeeds())}`);
    await compare(digits, runs, await native(digits));
    console.log(`after:  ${describeCpuSpeeds(await cpuSpeeds())}`);
    if (Deno.args.includes("--ten-million")) await tenMillion();
    if (busyStarts > 0) console.log(`note: ${busyStarts} runs started while the machine stayed busy`);
    if (coldRuns > 0) {
      console.log(
        `note: ${coldRuns} runs came more than ${
          PiMathContract.idleTimeoutMs / 1000
        } s after their host's previous Pi job: its pi-math threads had stopped (cold runs, as the first)`,
      );
    }
  } finally {
    await stopServers([...entries.values()].map((e) => e.child), work);
  }
}

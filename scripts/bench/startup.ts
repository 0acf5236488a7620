/**
 * Start-up as a user meets it, against a hello-world `deno run` in the same run:
 *
 * - `scripts/paglets --help`;
 * - a reading command against a running host (`scripts/paglets agents ls --json --entry URL`);
 * - `scripts/paglets host` until the API serves (the first `200` of `GET /v1/agents`, not health);
 * - the idle host's resident memory (all threads: one process), 2 s after it serves;
 * - the host's CPU time until it serves (all threads), which other load on the machine changes less
 *   than the wall time.
 *
 * Every round runs each measurement once, in turn, so drift of a shared machine affects all alike.
 * Prints the median and the range of every figure, the ratios to hello-world, and the goals.
 *
 * Run: `deno run -A scripts/bench/startup.ts [--rounds 7]`
 */
import { parseArgs } from "node:util";
import { median } from "./stats.ts";
import { bundleIsCurrent } from "../../cli/host_code.ts";
import { firstJsonLine } from "../spawn_host.ts";

const { values } = parseArgs({ args: Deno.args, options: { rounds: { type: "string", default: "7" } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
  throw new RangeError(
    `Cannot run as '--rounds' must be an integer in 1..100: current value is ${values.rounds}`,
  );
}

const root = new URL("../../", import.meta.url).pathname;
const launcher = `${root}scripts/paglets`;
const hello = await Deno.makeTempFile({ prefix: "paglets-bench-hello-", suffix: ".ts" });
await Deno.writeTextFile(hello, 'console.log("hello");\n');

/** Wall time of one command run to its end, in ms; throws when it fails. */
async function timed(cmd: string, args: string[]): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped", stdin: "null" }).output();
  const ms = performance.now() - start;
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

interface StartedHost {
  url: string;
  pid: number;
  /** ms from spawn until GET /v1/agents answered 200. */
  readyMs: number;
  /** CPU time of the host process (all threads, user + system) until then, in ms. */
  cpuMs: number;
  stop(): Promise<void>;
}

/** Starts `scripts/paglets host` on port 0 and waits (bounded: 20 s) until its API serves. */
async function startHost(): Promise<StartedHost> {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-bench-startup-" });
  const start = performance.now();
  const child = new Deno.Command(launcher, {
    args: ["host", "--name", "bench", "--port", "0", "--data-dir", dataDir, "--json"],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {/* already gone */});
  };
  const deadline = start + 20_000;
  const url = (await firstJsonLine(child.stdout, deadline - performance.now()))?.url as string | undefined;
  if (!url) {
    await stop();
    throw new Error("the host printed no URL within 20 s");
  }
  for (let i = 0; performance.now() < deadline && i < 20_000; i++) {
    const res = await fetch(`${url}/v1/agents`).catch(() => null);
    await res?.body?.cancel();
    if (res?.status === 200) {
      return { url, pid: child.pid, readyMs: performance.now() - start, cpuMs: cpuMs(child.pid), stop };
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await stop();
  throw new Error("the host's API did not serve within 20 s");
}

/** User + system CPU time of a process (all its threads) so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

const samples = { hello: [] as number[], help: [] as number[], read: [] as number[], host: [] as number[] };
const rss: number[] = [];
const hostCpu: number[] = [];
const reading = await startHost();
try {
  // One unmeasured run of each warms the disk cache and Deno's module cache.
  await timed(Deno.execPath(), ["run", "--quiet", hello]);
  await timed(launcher, ["--help"]);
  await timed(launcher, ["agents", "ls", "--json", "--entry", reading.url]);
  for (let round = 0; round < rounds; round++) {
    samples.hello.push(await timed(Deno.execPath(), ["run", "--quiet", hello]));
    samples.help.push(await timed(launcher, ["--help"]));
    samples.read.push(await timed(launcher, ["agents", "ls", "--json", "--entry", reading.url]));
    const host = await startHost();
    samples.host.push(host.readyMs);
    hostCpu.push(host.cpuMs);
    await new Promise((r) => setTimeout(r, 2000));
    rss.push(rssMiB(host.pid));
    await host.stop();
  }
} finally {
  await reading.stop();
  await Deno.remove(hello);
}

const fmt = (xs: number[], unit = "s", scale = 1000) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const d = unit === "s" ? 3 : 0;
  return `${(median([...xs]) / scale).toFixed(d)} ${unit} (range ${(sorted[0] / scale).toFixed(d)}–${
    (sorted.at(-1)! / scale).toFixed(d)
  })`;
};
const helloMedian = median([...samples.hello]);
console.log(`start-up, ${rounds} alternating rounds; medians (range):`);
if (!bundleIsCurrent()) {
  // `paglets host` then loads the source modules: about 50 ms and 7 MiB more than from the bundle.
  console.log("  NOTE: dist/host-bundle/ is missing or older than the source: the host started from the");
  console.log("  source; run `deno task bundle` (scripts/test does) to measure what users get");
}
console.log(`  hello-world deno run          ${fmt(samples.hello)}`);
const rows: [string, number[], number][] = [
  ["scripts/paglets --help        ", samples.help, 100],
  ["agents ls --json (reading)    ", samples.read, 120],
  ["host until the API serves     ", samples.host, 250],
];
for (const [name, xs, goalMs] of rows) {
  const m = median([...xs]);
  console.log(
    `  ${name}${fmt(xs)}  ${(m / helloMedian).toFixed(2)}× hello; goal ≤ ${goalMs / 1000} s → ${
      m <= goalMs ? "MET" : "NOT MET"
    }`,
  );
}
console.log(
  `  host CPU until it serves       ${fmt(hostCpu, "ms", 1)} (all threads; not a goal, steadier than wall)`,
);
const rssMedian = median([...rss]);
console.log(
  `  idle host RSS                 ${fmt(rss, "MiB", 1)}; goal ≤ 80 MiB → ${
    rssMedian <= 80 ? "MET" : "NOT MET"
  }`,
);

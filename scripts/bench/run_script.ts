/**
 * Benchmark: `paglets run` of a small script until its first job is created on the entry host.
 * A host runs in this process; each round spawns `paglets run` (as `scripts/paglets` does:
 * `deno run main.ts run FILE`) and stops the clock when the host emits the `create` event of the
 * script's job. Reference: `paglets agents create demo.counter` against the same host, until its
 * `create` event, in alternating rounds.
 *
 * Two cases: a warm run (the script's bundle is in the bundle cache, as on every run after the
 * first of an unchanged file) and a cold run (the cache emptied before the round: esbuild starts).
 *
 * Target: a warm run under 0.5 s to the first job.
 *
 * Usage: deno run -A scripts/bench/run_script.ts [--rounds 5]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Host } from "../../host/host.ts";
import { extensionsForHost } from "../../cli/extensions.ts";
import { median } from "./stats.ts";

const { values } = parseArgs({ args: Deno.args, options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

const work = await Deno.makeTempDir({ prefix: "paglets-bench-run-" });
const script = join(work, "job.ts");
await Deno.writeTextFile(
  script,
  `import { connect, type Message, Paglet } from "paglets";
export class Job extends Paglet<{ n: number }> {
  static override readonly type = "bench.run-job";
  override initialState() { return { n: 0 }; }
  override onMessage(m: Message) { return { n: ++this.state.n, kind: m.kind }; }
}
if (import.meta.main) {
  const mesh = await connect();
  await mesh.create(Job.type);
}
`,
);
const cacheHome = join(work, "home");
const host = await Host.start(
  { name: "bench", port: 0, dataDir: join(work, "host"), quiet: true },
  extensionsForHost(),
);

/** Spawns `paglets ...args` and resolves with the ms until the host creates an agent of `type`. */
async function timeToCreate(args: string[], type: string): Promise<number> {
  const created = Promise.withResolvers<number>();
  const started = performance.now();
  const unsubscribe = host.events.subscribe((e) => {
    if (e.kind === "create" && e.type === type) created.resolve(performance.now() - started);
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", "--config", CONFIG, MAIN, ...args, "--entry", host.url],
    env: { PAGLETS_HOME: cacheHome, PAGLETS_API_KEY: "", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => created.reject(new Error(`no create of ${type} within 60 s`)), 60_000);
  try {
    return await created.promise;
  } finally {
    clearTimeout(timer);
    unsubscribe();
    const status = await child.output();
    if (!status.success) console.error(new TextDecoder().decode(status.stderr));
  }
}

try {
  const warm: number[] = [];
  const cold: number[] = [];
  const reference: number[] = [];
  await timeToCreate(["run", script], "bench.run-job"); // fills the cache, warms the disk cache
  for (let round = 0; round < rounds; round++) {
    reference.push(await timeToCreate(["agents", "create", "demo.counter", "--json"], "demo.counter"));
    warm.push(await timeToCreate(["run", script], "bench.run-job"));
    await Deno.remove(join(cacheHome, "cache"), { recursive: true }).catch(() => {});
    cold.push(await timeToCreate(["run", script], "bench.run-job"));
  }
  const spread = (s: number[]) => `${Math.min(...s).toFixed(0)}–${Math.max(...s).toFixed(0)} ms`;
  const w = median([...warm]);
  const r = median([...reference]);
  console.log(
    `${rounds} alternating rounds against an in-process host (load average ${Deno.loadavg()[0].toFixed(1)})`,
  );
  console.log(
    `paglets agents create demo.counter (reference): median ${r.toFixed(0)} ms (spread ${spread(reference)})`,
  );
  console.log(`paglets run, bundle cached: median ${w.toFixed(0)} ms (spread ${spread(warm)})`);
  console.log(
    `paglets run, bundled now (esbuild starts): median ${median([...cold]).toFixed(0)} ms (spread ${
      spread(cold)
    })`,
  );
  console.log(
    `paglets run to the first job: ratio ${(w / r).toFixed(2)}× the reference; target < 500 ms (cached) → ${
      w < 500 ? "MET" : "NOT MET"
    }`,
  );
} finally {
  await host.stop();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

/**
 * Benchmark: an analysis campaign end to end on one 2-core host against the ideal.
 *
 *   deno run -A scripts/bench/analysis_campaign.ts [--jobs 4] [--target-runtime 3] [--rows 20000]
 *     [--features 32] [--trees 40] [--runs 3]
 *
 * Starts one host process (its CPUs are this machine's), then times `scripts/paglets examples
 * analysis --entry HOST …` as a fresh process from its start until it has printed the campaign's
 * DB summary: seeding, placement, slots, the pinned workloads (training plus CPU padding up to the
 * target runtime), the return home and the locked SQLite commits. The ideal is
 * jobs × target runtime ÷ cores, the time of perfectly packed jobs with no overhead at all; the goal
 * is ≤ 1.3× it. The default frame is small enough that its training fits in the target runtime;
 * with a frame whose training takes longer, the jobs take that long instead of the target.
 */
import { startHost, stopAll } from "../../tests/helpers/host_process.ts";
import { median } from "./stats.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const jobs = flag("--jobs", 4), target = flag("--target-runtime", 3), runs = flag("--runs", 3);
const rows = flag("--rows", 20_000), features = flag("--features", 32), trees = flag("--trees", 40);
const launcher = new URL("../paglets", import.meta.url).pathname;
const cores = navigator.hardwareConcurrency;
const ideal = (jobs * target) / cores;

const dir = await Deno.makeTempDir({ prefix: "paglets-analysis-bench-" });
try {
  const host = await startHost({ name: "bench", args: ["--workers", "2"] });
  console.log(
    `analysis campaign: ${jobs} jobs × ${target} s target runtime (${rows} rows × ${features} features, ` +
      `${trees} trees) on one host with ${cores} cores; ideal ${ideal.toFixed(2)} s, ${runs} runs`,
  );
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const db = `${dir}/run-${i}.sqlite`;
    const t = performance.now();
    const out = await new Deno.Command(launcher, {
      args: [
        "examples",
        "analysis",
        "--entry",
        host.url,
        "--tasks",
        String(jobs),
        "--target-runtime",
        String(target),
        "--rows",
        String(rows),
        "--features",
        String(features),
        "--trees",
        String(trees),
        "--db",
        db,
        "--json",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const ms = performance.now() - t;
    if (!out.success) throw new Error(`campaign failed: ${new TextDecoder().decode(out.stderr)}`);
    const summary = JSON.parse(new TextDecoder().decode(out.stdout));
    if (summary.results?.tables.job_summary !== jobs) {
      throw new Error(`expected ${jobs} rows: ${JSON.stringify(summary)}`);
    }
    const compute = summary.results.jobs.map((j: { computeSeconds: number }) => j.computeSeconds);
    walls.push(ms / 1000);
    console.log(
      `  run ${i + 1}: ${(ms / 1000).toFixed(2)} s end to end (${(ms / 1000 / ideal).toFixed(2)}× ideal); ` +
        `job compute ${compute.map((c: number) => c.toFixed(2)).join(", ")} s`,
    );
  }
  const m = median([...walls]);
  const ratios = walls.map((w) => w / ideal).sort((a, b) => a - b);
  console.log(
    `end to end: median ${m.toFixed(2)} s = ${(m / ideal).toFixed(2)}× ideal (spread ${
      ratios[0].toFixed(2)
    }–${ratios[ratios.length - 1].toFixed(2)}×, goal ≤ 1.3×) → ${m / ideal <= 1.3 ? "MET" : "NOT MET"}`,
  );
} finally {
  await stopAll();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/**
 * Benchmark: Monte Carlo samples per second on one core, examples/montecarlo's estimator against
 * NumPy's `np.random.rand` version of the seed's `estimate_batch` (Debian's python3-numpy, /usr/bin/python3).
 *
 *   deno run -A scripts/bench/montecarlo.ts [--runs 7] [--batches 10] [--samples 1000000]
 *
 * Each run is one fresh process per side (`deno run` of this file with `--child`, `python3 -c`),
 * alternating which goes first; each process warms up with one batch, then times `batches` batches
 * of `samples` points on its single thread and prints samples per second. Reports the medians, the
 * spread (min..max) and the ratio ours/NumPy (target ≥ 4). The 2-executor scaling through a
 * Runner is in scripts/bench/runner.ts.
 */
import { estimateBatch } from "../../examples/montecarlo/estimate.ts";
import { median, verdict } from "./stats.ts";
import { waitForQuiet } from "./quiet.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const batches = flag("--batches", 10);
const samples = flag("--samples", 1_000_000);

if (Deno.args.includes("--child")) {
  // Warm-up: V8 optimises the loop after its first calls (NumPy has no such phase; it gets one too).
  for (let w = 0; w < 3; w++) estimateBatch(samples, 1, 1000 + w);
  const t = performance.now();
  let inside = 0;
  for (let b = 0; b < batches; b++) inside += estimateBatch(samples, 1, b);
  const s = (performance.now() - t) / 1000;
  console.log(JSON.stringify({ rate: (batches * samples) / s, pi: (4 * inside) / (batches * samples) }));
  Deno.exit(0);
}

const NUMPY = `
import json, time, numpy as np
def estimate_batch(num_samples):
    x = np.random.rand(num_samples)
    y = np.random.rand(num_samples)
    return int(np.sum(x * x + y * y <= 1.0))
estimate_batch(${samples})
t = time.perf_counter()
inside = sum(estimate_batch(${samples}) for _ in range(${batches}))
s = time.perf_counter() - t
print(json.dumps({"rate": ${batches * samples} / s, "pi": 4 * inside / ${batches * samples}}))
`;

async function rate(cmd: string, args: string[]): Promise<number> {
  await waitForQuiet(5_000);
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    // One core each: the comparison is per core (NumPy's rand is single-threaded anyway).
    env: { OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  const { rate, pi } = JSON.parse(text) as { rate: number; pi: number };
  if (Math.abs(pi - Math.PI) > 0.01) throw new Error(`${cmd} estimated Pi as ${pi}`);
  return rate;
}

const ours = () => rate(Deno.execPath(), ["run", "-A", import.meta.filename!, "--child", ...Deno.args]);
// Debian's python3 and python3-numpy (not whatever python3 is first on PATH).
const numpy = () => rate("/usr/bin/python3", ["-c", NUMPY]);

const runs = flag("--runs", 7);
const oursRates: number[] = [];
const numpyRates: number[] = [];
for (let i = 0; i < runs; i++) {
  if (i % 2 === 0) {
    oursRates.push(await ours());
    numpyRates.push(await numpy());
  } else {
    numpyRates.push(await numpy());
    oursRates.push(await ours());
  }
}
const m = (xs: number[]) => median([...xs]);
const fmt = (x: number) => `${(x / 1e6).toFixed(1)} M/s`;
const spread = (xs: number[]) => `${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))}`;
console.log(
  `Monte Carlo samples per second per core, ${batches} × ${samples.toLocaleString("en")}, ${runs} runs`,
);
console.log(`  ours  (xoshiro128**, deno): median ${fmt(m(oursRates))}  spread ${spread(oursRates)}`);
console.log(`  NumPy (np.random.rand):     median ${fmt(m(numpyRates))}  spread ${spread(numpyRates)}`);
const ratio = m(oursRates) / m(numpyRates);
verdict("montecarlo per core vs NumPy", ratio, "≥ 4×", ratio >= 4);

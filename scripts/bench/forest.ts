/**
 * Benchmark: our histogram random forest (examples/analysis/forest.ts) against scikit-learn's
 * `RandomForestClassifier(n_jobs=1)` (Debian's python3-sklearn), on the same rows.
 *
 *   deno run -A scripts/bench/forest.ts [--rows 80000] [--features 32] [--trees 80] [--runs 3]
 *
 * The rows come from the analysis example's synthetic generator (seed 10000), 80 % for training and
 * 20 % for scoring, written to a temp file that Python reads with numpy. Each run trains and scores
 * both in fresh processes, alternating which goes first; each side times only its training and
 * scoring (not its start-up or the loading of the rows). Prints both accuracies (goal: within one
 * percentage point) and the time ratio ours/scikit-learn (goal ≤ 1.0×) with median and spread.
 */
import { makeClassification } from "../../examples/analysis/synthetic.ts";
import { accuracy, RandomForest } from "../../examples/analysis/forest.ts";
import { median } from "./stats.ts";

const PYTHON = "/usr/bin/python3";

const SKLEARN = `
import json, sys, time
import numpy as np
from sklearn.ensemble import RandomForestClassifier
path, rows, features, train, trees, seed = sys.argv[1], *map(int, sys.argv[2:7])
raw = open(path, "rb").read()
x = np.frombuffer(raw, dtype=np.float32, count=rows * features).reshape(rows, features)
y = np.frombuffer(raw, dtype=np.uint8, offset=rows * features * 4, count=rows)
t = time.perf_counter()
model = RandomForestClassifier(n_estimators=trees, n_jobs=1, random_state=seed)
model.fit(x[:train], y[:train])
acc = float((model.predict(x[train:]) == y[train:]).mean())
print(json.dumps({"ms": (time.perf_counter() - t) * 1000, "accuracy": acc}))
`;

interface Side {
  ms: number;
  accuracy: number;
}

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

/** The child side: train and score ours on the rows in `path`, print {ms, accuracy}. */
async function ours(
  path: string,
  rows: number,
  features: number,
  train: number,
  trees: number,
  seed: number,
) {
  const raw = await Deno.readFile(path);
  const x = new Float32Array(raw.buffer, 0, rows * features);
  const y = raw.subarray(rows * features * 4, rows * features * 4 + rows);
  const t = performance.now();
  const forest = RandomForest.fit(x.subarray(0, train * features), y.subarray(0, train), features, {
    trees,
    seed,
  });
  const acc = accuracy(forest.predict(x.subarray(train * features)), y.subarray(train));
  console.log(JSON.stringify({ ms: performance.now() - t, accuracy: acc }));
}

async function run(cmd: string, args: string[]): Promise<Side> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

function spread(sample: number[]): string {
  const sorted = [...sample].sort((a, b) => a - b);
  return `${sorted[0].toFixed(2)}–${sorted[sorted.length - 1].toFixed(2)}`;
}

async function main(): Promise<void> {
  if (Deno.args[0] === "--child") {
    const [path, ...n] = Deno.args.slice(1);
    const [rows, features, train, trees, seed] = n.map(Number);
    return await ours(path, rows, features, train, trees, seed);
  }
  const rows = flag("--rows", 80_000), features = flag("--features", 32), trees = flag("--trees", 80);
  const runs = flag("--runs", 3);
  const train = Math.floor(rows * 0.8);
  const data = makeClassification({ rows, features, seed: 10_000 });
  const path = await Deno.makeTempFile({ prefix: "paglets-forest-", suffix: ".bin" });
  try {
    const bytes = new Uint8Array(rows * features * 4 + rows);
    bytes.set(new Uint8Array(data.x.buffer, data.x.byteOffset, data.x.byteLength));
    bytes.set(data.y, rows * features * 4);
    await Deno.writeFile(path, bytes);
    const args = [String(rows), String(features), String(train), String(trees)];
    console.log(`forest: ${rows} rows × ${features} features (${train} train), ${trees} trees, ${runs} runs`);
    const ratios: number[] = [], oursMs: number[] = [], skMs: number[] = [];
    let accOurs = 0, accSk = 0;
    for (let i = 0; i < runs; i++) {
      const seed = String(i);
      const a = () =>
        run(Deno.execPath(), ["run", "-A", import.meta.filename!, "--child", path, ...args, seed]);
      const b = () => run(PYTHON, ["-c", SKLEARN, path, ...args, seed]);
      const [o, s] = i % 2 === 0 ? [await a(), await b()] : (([x, y]) => [y, x])([await b(), await a()]);
      oursMs.push(o.ms);
      skMs.push(s.ms);
      ratios.push(o.ms / s.ms);
      accOurs += o.accuracy / runs;
      accSk += s.accuracy / runs;
      console.log(
        `  run ${i + 1}: ours ${(o.ms / 1000).toFixed(2)} s acc ${(o.accuracy * 100).toFixed(2)} % · ` +
          `scikit-learn ${(s.ms / 1000).toFixed(2)} s acc ${(s.accuracy * 100).toFixed(2)} % · ratio ${
            (o.ms / s.ms).toFixed(2)
          }×`,
      );
    }
    const gap = (accOurs - accSk) * 100;
    console.log(
      `accuracy: ours ${(accOurs * 100).toFixed(2)} %, scikit-learn ${(accSk * 100).toFixed(2)} % ` +
        `(gap ${gap.toFixed(2)} points, goal within 1) → ${Math.abs(gap) <= 1 ? "MET" : "NOT MET"}`,
    );
    const r = median([...ratios]);
    console.log(
      `time: ours median ${(median(oursMs) / 1000).toFixed(2)} s, scikit-learn median ${
        (median(skMs) / 1000).toFixed(2)
      } s; ratio median ${r.toFixed(2)}× (spread ${spread(ratios)}, goal ≤ 1.0×) → ${
        r <= 1 ? "MET" : "NOT MET"
      }`,
    );
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

await main();

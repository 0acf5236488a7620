/**
 * Benchmark: first use of a 1 MiB travelling module on a host that lacks it. Host B creates an
 * agent of a type from a module only host A has: B fetches it (`GET /v1/code/:hash` on A), checks
 * its hash, stores it and loads it into the worker the agent goes to, then creates the agent; a
 * second agent of the type, placed on its other worker, loads the module there at its start. Each round uses a new module (a new hash), so every round is a first use.
 * Reference: the create of a built-in type on B, in the same rounds, once B's workers are idle.
 * Host A (the source, one worker) has loaded the module before B asks.
 *
 * Target: first use (the create with the fetch) under 150 ms.
 *
 * Usage: deno run -A scripts/bench/code_first_use.ts [--rounds 9] [--size 1048576]
 */
import { parseArgs } from "node:util";
import { Host } from "../../host/host.ts";
import { HostClient } from "../../host/client.ts";
import { EXAMPLE_MODULES } from "../../examples/modules.ts";
import { median } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "9" }, size: { type: "string", default: String(1 << 20) } },
});
const rounds = Number(values.rounds);
const size = Number(values.size);

/** A module the way bundles look: the SDK read from globalThis, ~`size` bytes, unique per round. */
function bigModule(round: number): Uint8Array {
  const pad = "x".repeat(size);
  return new TextEncoder().encode(
    `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
      `export class Big extends Paglet { static type = "bench.big"; initialState() { return { round: ${round} }; } }\n` +
      `export const PAD = "${pad}";\n`,
  );
}

const dirs = await Promise.all([0, 1].map(() => Deno.makeTempDir({ prefix: "paglets-bench-code-" })));
const [a, b] = await Promise.all(
  dirs.map((dataDir, i) =>
    Host.start({
      name: `bench-${i}`,
      port: 0,
      dataDir,
      quiet: true,
      modules: [...EXAMPLE_MODULES],
      workers: i === 0 ? 1 : 2,
    })
  ),
);
try {
  const clientA = new HostClient(a.url, { apiKey: null });
  const clientB = new HostClient(b.url, { apiKey: null });
  const firstUse: number[] = [];
  const reference: number[] = [];
  const everyWorker: number[] = [];
  const phases: { fetchMs: number; loadMs: number }[] = [];
  // One warm-up of each, not counted.
  for (let round = -1; round < rounds; round++) {
    const bytes = bigModule(round);
    const put = await clientA.fetch("PUT", "/v1/code", { body: bytes as Uint8Array<ArrayBuffer> });
    const { hash } = await put.json() as { hash: string };

    let t = performance.now();
    const created = await clientB.createAgent({ type: "bench.big", code: hash, codeFrom: a.url });
    const withFetch = performance.now() - t;
    // Placed on B's other worker, which loads the module for it.
    const second = await clientB.createAgent({ type: "bench.big", code: hash });
    const untilBoth = performance.now() - t;

    t = performance.now();
    const plain = await clientB.createAgent({ type: "demo.counter" });
    const builtin = performance.now() - t;

    for (const { id } of [created, second, plain]) await clientB.dispose(id);
    if (round < 0) continue;
    const loaded = b.events.since(0, 100_000).filter((e) => e.kind === "code-loaded").pop()!;
    phases.push(loaded.data as { fetchMs: number; loadMs: number });
    firstUse.push(withFetch);
    everyWorker.push(untilBoth);
    reference.push(builtin);
  }
  const spread = (s: number[]) => `${Math.min(...s).toFixed(1)}–${Math.max(...s).toFixed(1)} ms`;
  const m = median([...firstUse]);
  const r = median([...reference]);
  console.log(
    `module size: ${(size / 1048576).toFixed(2)} MiB, ${rounds} alternating rounds, 2 agent workers on B`,
  );
  console.log(`create with first use of the module: median ${m.toFixed(1)} ms (spread ${spread(firstUse)})`);
  console.log(
    `create of a built-in type (reference): median ${r.toFixed(1)} ms (spread ${spread(reference)})`,
  );
  console.log(
    `of which fetch + check + store: median ${median(phases.map((p) => p.fetchMs))} ms; ` +
      `import into the first worker (data: URL): median ${median(phases.map((p) => p.loadMs))} ms`,
  );
  console.log(
    `until B's second worker has it too (a second agent created there): median ${
      median([...everyWorker]).toFixed(1)
    } ms (spread ${spread(everyWorker)})`,
  );
  console.log(
    `first use (fetch, check, store, load, create): ${m.toFixed(1)} ms, ${(m - r).toFixed(1)} ms more than ` +
      `the reference (ratio ${(m / r).toFixed(1)}×); target < 150 ms → ${m < 150 ? "MET" : "NOT MET"}`,
  );
} finally {
  await Promise.all([a.stop(), b.stop()]);
  for (const dir of dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

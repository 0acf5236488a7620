/**
 * Benchmark 3: create + dispose of demo.counter over HTTP with 8 concurrent clients against one
 * host. Target: at least 2,000 create/dispose pairs per second.
 *
 * The host runs as its own process (`main.ts host`), as in production; the clients run in this
 * process. `--in-process` starts the host inside the benchmark process instead.
 *
 * Run: `deno run -A scripts/bench/create_dispose.ts [--clients 8] [--seconds 5] [--in-process]`
 */
import { EXAMPLE_MODULES } from "../../examples/modules.ts";
import { parseArgs } from "node:util";
import { Host } from "../../host/host.ts";
import { startHost, stopAll } from "../../tests/helpers/host_process.ts";
import { median, us, verdict } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "8" },
    seconds: { type: "string", default: "5" },
    "in-process": { type: "boolean", default: false },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);

let url: string;
let cleanup: () => Promise<void>;
if (values["in-process"]) {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-bench-cd-" });
  const host = await Host.start({
    name: "bench",
    port: 0,
    dataDir,
    quiet: true,
    modules: [...EXAMPLE_MODULES],
  });
  url = host.url;
  cleanup = async () => {
    await host.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
} else {
  const hp = await startHost({ name: "bench" });
  url = hp.url;
  cleanup = async () => {
    await hp.stop();
    await stopAll();
    await Deno.remove(hp.dataDir, { recursive: true }).catch(() => {});
  };
}

const createBody = JSON.stringify({ type: "demo.counter" });
async function pair(): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/agents`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: createBody,
  });
  const created = await res.json();
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(created)}`);
  const del = await fetch(`${url}/v1/agents/${created.id}`, { method: "DELETE" });
  await del.body?.cancel();
  if (!del.ok) throw new Error(`dispose answered ${del.status}`);
  return performance.now() - t0;
}

async function runFor(ms: number): Promise<number[]> {
  const until = performance.now() + ms;
  const latencies: number[] = [];
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < until) latencies.push(await pair());
  }));
  return latencies;
}

try {
  await runFor(1500); // warm-up
  const t0 = performance.now();
  const latencies = await runFor(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const rate = latencies.length / elapsed;
  console.log(`host: ${values["in-process"] ? "in this process" : "separate process"}; clients: ${clients}`);
  console.log(
    `pairs: ${latencies.length} in ${elapsed.toFixed(2)} s; median pair latency ${us(median(latencies))}`,
  );
  console.log(`throughput: ${Math.round(rate)} create+dispose pairs/s`);
  verdict("create+dispose throughput", rate / 2000, "≥ 1× of 2,000 pairs/s", rate >= 2000);
} finally {
  await cleanup();
}

/**
 * Benchmark 2: a local paglet-to-paglet `context.send` round trip (demo.pinger → demo.counter,
 * both on one host, reply awaited) against a bare Web Worker `postMessage` round trip (main
 * thread → worker → main thread) in the same process.
 * Target: the paglet round trip's median is within 3× of the bare one.
 *
 * Run: `deno run -A scripts/bench/local_send.ts [--count 5000]`
 */
import { EXAMPLE_MODULES } from "../../examples/modules.ts";
import { parseArgs } from "node:util";
import { Host } from "../../host/host.ts";
import { median, percentile, us, verdict } from "./stats.ts";

const { values } = parseArgs({ args: Deno.args, options: { count: { type: "string", default: "5000" } } });
const count = Number(values.count);

async function bareRoundTrips(n: number): Promise<number[]> {
  const worker = new Worker(new URL("./echo_worker.ts", import.meta.url).href, { type: "module" });
  try {
    const message = { kind: "get", args: {} };
    const once = () =>
      new Promise<void>((resolve) => {
        worker.onmessage = () => resolve();
        worker.postMessage(message);
      });
    for (let i = 0; i < 1000; i++) await once();
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await once();
      times.push(performance.now() - t0);
    }
    return times;
  } finally {
    worker.terminate();
  }
}

const dataDir = await Deno.makeTempDir({ prefix: "paglets-bench-local-" });
const host = await Host.start({
  name: "bench",
  port: 0,
  dataDir,
  quiet: true,
  modules: [...EXAMPLE_MODULES],
});
try {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(host.url + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
    return json;
  };
  const target = await post("/v1/agents", { type: "demo.counter" });
  const pinger = await post("/v1/agents", { type: "demo.pinger" });
  const ping = (n: number) =>
    post(`/v1/agents/${pinger.id}/messages`, {
      kind: "ping",
      args: { target: target.id, count: n, kind: "get" },
      timeoutMs: 600_000,
    });
  await ping(1000); // warm-up
  const bare = await bareRoundTrips(count);
  const { reply } = await ping(count);
  const bareMedian = median(bare);
  console.log(`samples: ${count} per side`);
  console.log(
    `bare worker postMessage round trip: median ${us(bareMedian)}, p90 ${us(percentile(bare, 90))}`,
  );
  console.log(
    `paglet → paglet send round trip:    median ${us(reply.medianUs / 1000)}, p90 ${us(reply.p90Us / 1000)}`,
  );
  const ratio = reply.medianUs / 1000 / bareMedian;
  verdict("local send vs bare postMessage", ratio, "≤ 3×", ratio <= 3);
} finally {
  await host.stop();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}

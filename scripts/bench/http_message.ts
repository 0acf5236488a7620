/**
 * Benchmark 1: a message to a paglet over HTTP (`POST /v1/agents/:id/messages`, reply awaited)
 * against a bare Hono echo route served by the same process, measured by a client process on
 * the same machine. Targets: the paglet message's median round trip is within 1.5× of the bare
 * route's, and within 1.15× of the floor (below).
 *
 * This process runs the host (in-process) and the bare routes; `http_client.ts` runs as a
 * separate process and measures every route in interleaved rounds, so drift of a shared machine
 * affects all alike. A third route, the bare route plus one round trip to a bare worker over a
 * MessagePort, shows the floor of any design that runs agent code off the kernel thread.
 *
 * Run: `deno run -A scripts/bench/http_message.ts [--rounds 10] [--per-round 300] [--warmup 500]`
 */
import { EXAMPLE_MODULES } from "../../examples/modules.ts";
import { Hono } from "hono";
import { parseArgs } from "node:util";
import { Host } from "../../host/host.ts";
import { median, percentile, us, verdict } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "10" },
    "per-round": { type: "string", default: "300" },
    warmup: { type: "string", default: "500" },
  },
});

const dataDir = await Deno.makeTempDir({ prefix: "paglets-bench-http-" });
const host = await Host.start({
  name: "bench",
  port: 0,
  dataDir,
  quiet: true,
  modules: [...EXAMPLE_MODULES],
});

// The floor: one hop to a worker that echoes over a MessagePort.
const echoWorker = new Worker(new URL("./echo_worker.ts", import.meta.url).href, { type: "module" });
const channel = new MessageChannel();
echoWorker.postMessage({ port: channel.port2 }, [channel.port2]);
const hop = (value: unknown) =>
  new Promise<unknown>((resolve) => {
    channel.port1.onmessage = (event) => resolve(event.data);
    channel.port1.postMessage(value);
  });

const bare = new Hono();
bare.post("/echo", async (c) => c.json({ reply: await c.req.json() }));
bare.post("/echo-hop", async (c) => c.json({ reply: await hop(await c.req.json()) }));
const bareServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, bare.fetch);
const bareBase = `http://127.0.0.1:${bareServer.addr.port}`;

try {
  const res = await fetch(`${host.url}/v1/agents`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "demo.counter" }),
  });
  const created = await res.json();
  if (res.status !== 201) throw new Error(`create failed: ${JSON.stringify(created)}`);
  const message = JSON.stringify({ kind: "echo", args: { n: 1 } });
  const client = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL("./http_client.ts", import.meta.url).pathname,
      values.rounds!,
      values["per-round"]!,
      values.warmup!,
      message,
      `${bareBase}/echo`,
      `${host.url}/v1/agents/${created.id}/messages`,
      `${bareBase}/echo-hop`,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await client.output();
  if (!out.success) throw new Error("the client process failed");
  const [bareTimes, agentTimes, hopTimes] = (JSON.parse(new TextDecoder().decode(out.stdout)) as {
    times: number[][];
  }).times;
  const bareMedian = median(bareTimes);
  const agentMedian = median(agentTimes);
  const hopMedian = median(hopTimes);
  console.log(
    `samples: ${agentTimes.length} per route (${values.rounds} interleaved rounds of ${
      values["per-round"]
    }, client in its own process)`,
  );
  console.log(
    `bare Hono echo route:           median ${us(bareMedian)}, p90 ${us(percentile(bareTimes, 90))}`,
  );
  console.log(
    `paglet message over HTTP:       median ${us(agentMedian)}, p90 ${us(percentile(agentTimes, 90))}`,
  );
  console.log(
    `floor: bare route + worker hop: median ${us(hopMedian)}, p90 ${us(percentile(hopTimes, 90))} (${
      (hopMedian / bareMedian).toFixed(2)
    }× the bare route)`,
  );
  const ratio = agentMedian / bareMedian;
  verdict("http message vs bare route", ratio, "≤ 1.5×", ratio <= 1.5);
  const floorRatio = agentMedian / hopMedian;
  verdict("http message vs the floor", floorRatio, "≤ 1.15×", floorRatio <= 1.15);
} finally {
  echoWorker.terminate();
  channel.port1.close();
  await bareServer.shutdown();
  await host.stop();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}

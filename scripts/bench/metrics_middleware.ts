/**
 * What the /metrics HTTP middleware costs per request: the same Hono app (the message route's
 * template and a small JSON answer) with and without `HostMetrics.middleware`, driven in-process
 * through `app.fetch` in alternating rounds, timed in CPU time of this process (less sensitive to
 * other load than wall time). Target: the route with the middleware costs at most 1.5× the bare
 * route. A bare route is the cheapest request there is (a few µs of CPU); a message to a paglet
 * over HTTP takes hundreds of µs (scripts/bench/http_message.ts), so there the same added µs are
 * well under 1%.
 *
 * Run: `deno run -A scripts/bench/metrics_middleware.ts [--rounds 10] [--per-round 20000]`
 */
import { Hono } from "hono";
import process from "node:process";
import { parseArgs } from "node:util";
import { HostMetrics } from "../../host/metrics/host_metrics.ts";
import { median, percentile, verdict } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "10" }, "per-round": { type: "string", default: "20000" } },
});
const rounds = Number(values.rounds);
const perRound = Number(values["per-round"]);

function app(metered: boolean): Hono {
  const a = new Hono();
  if (metered) a.use("*", new HostMetrics().middleware);
  a.post("/v1/agents/:id/messages", (c) => c.json({ reply: c.req.param("id") }));
  return a;
}

/** CPU microseconds per request over one round of `perRound` requests to `a`. */
async function round(a: Hono): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < perRound; i++) {
    const res = await a.fetch(new Request(`http://h/v1/agents/a${i % 64}/messages`, { method: "POST" }));
    await res.arrayBuffer();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / perRound;
}

const bare = app(false), metered = app(true);
await round(bare), await round(metered); // warm-up: JIT and the label series exist
const bareUs: number[] = [], meteredUs: number[] = [], ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const b = await round(bare), m = await round(metered);
  bareUs.push(b), meteredUs.push(m), ratios.push(m / b);
}
const ratio = median([...ratios]);
console.log(`samples: ${rounds} alternating rounds of ${perRound} requests each (CPU time, in-process)`);
console.log(`bare route:              median ${median(bareUs).toFixed(2)} µs CPU/request`);
console.log(`route + metrics:         median ${median(meteredUs).toFixed(2)} µs CPU/request`);
console.log(
  `added by the middleware: ${(median(meteredUs) - median(bareUs)).toFixed(2)} µs; ratio spread p10 ${
    percentile([...ratios], 10).toFixed(3)
  }–p90 ${percentile([...ratios], 90).toFixed(3)}`,
);
verdict("route with metrics vs bare route", ratio, "≤ 1.5×", ratio <= 1.5);

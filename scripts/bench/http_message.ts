/**
 * Benchmark 1: a message to a paglet over HTTP (`POST /v1/agents/:id/messages`, reply awaited)
 * against a bare Hono echo route, measured by a client process on the same machine. Targets: the
 * paglet message's median round trip is within 1.5× of the bare route's, and within 1.15× of the
 * floor: the bare route plus one round trip to a bare worker over a MessagePort (echo_hop.ts), the
 * least any design pays that runs agent code off the thread serving HTTP.
 *
 * The host runs as users start it (`main.ts host`, a process of its own); the bare route and the
 * floor are served by another process (bare_echo.ts). `--in-process` runs the host and both
 * references in this process instead (the host from source, one main thread serving all three).
 * `http_client.ts`, a process of its own, measures every route in interleaved rounds, so drift of
 * a shared machine affects all alike. Which vCPU the kernel's scheduler gives each thread moves a
 * round trip by tens of µs here (a worker woken on the other vCPU than its sender costs more), so
 * the ratio is printed for each round too: report several runs, with their spread.
 *
 * Every route first gets `--warmup` round trips (2,000): after 500, the host's first two or three
 * rounds still ran 1.3–2.5× slower than its later ones (its message path was still being optimised
 * by V8), while the references settled within ten requests. The figure is a running host's, not a
 * new one's.
 *
 * Run: `deno run -A scripts/bench/http_message.ts [--rounds 10] [--per-round 300] [--warmup 2000] [--in-process]`
 */
import { parseArgs } from "node:util";
import { benchHost, median, percentile, us, verdict } from "./stats.ts";
import { startEchoServer } from "./echo_hop.ts";
import { spawnPrintingUrl } from "../spawn_host.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "10" },
    "per-round": { type: "string", default: "300" },
    warmup: { type: "string", default: "2000" },
    "in-process": { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const perRound = Number(values["per-round"]);
for (
  const [name, v] of [["rounds", rounds], ["per-round", perRound], ["warmup", Number(values.warmup)]] as const
) {
  const least = name === "warmup" ? 0 : 1;
  if (!Number.isInteger(v) || v < least) {
    throw new RangeError(`Cannot run as '--${name}' must be an integer ≥ ${least}: current value is ${v}`);
  }
}

/** The server of the bare route (`/echo`) and the floor (`/echo-hop`), and how to stop it. */
async function references(inProcess: boolean): Promise<{ url: string; stop(): Promise<void> }> {
  if (inProcess) return startEchoServer();
  const { child, url } = await spawnPrintingUrl(Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-all",
    "--config",
    new URL("../../deno.json", import.meta.url).pathname,
    new URL("./bare_echo.ts", import.meta.url).pathname,
  ], { timeoutMs: 20_000, stderr: "inherit" });
  return {
    url,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

const host = await benchHost(values["in-process"], "http");
const refs = await references(values["in-process"]).catch(async (err) => {
  await host.cleanup();
  throw err;
});
try {
  const created = await host.client.createAgent({ type: "demo.counter" });
  const message = JSON.stringify({ kind: "echo", args: { n: 1 } });
  const client = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL("./http_client.ts", import.meta.url).pathname,
      String(rounds),
      String(perRound),
      values.warmup!,
      message,
      `${refs.url}/echo`,
      `${host.client.baseUrl}/v1/agents/${created.id}/messages`,
      `${refs.url}/echo-hop`,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await client.output();
  if (!out.success) throw new Error("the client process failed");
  const [bareTimes, agentTimes, hopTimes] = (JSON.parse(new TextDecoder().decode(out.stdout)) as {
    times: number[][];
  }).times;
  // Each round's own ratio, before the medians below sort the samples.
  const perRoundRatios = Array.from({ length: rounds }, (_, r) => {
    const part = (xs: number[]) => median(xs.slice(r * perRound, (r + 1) * perRound));
    return part(agentTimes) / part(hopTimes);
  });
  const bareMedian = median(bareTimes);
  const agentMedian = median(agentTimes);
  const hopMedian = median(hopTimes);
  console.log(
    `samples: ${agentTimes.length} per route (${rounds} interleaved rounds of ${perRound}, client in its own process; ${
      values["in-process"]
        ? "host and references in this process"
        : "host and references in processes of their own"
    })`,
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
  const sorted = [...perRoundRatios].sort((a, b) => a - b);
  console.log(
    `message / floor by round: median ${median([...perRoundRatios]).toFixed(2)}× (${sorted[0].toFixed(2)}–${
      sorted.at(-1)!.toFixed(2)
    }×)`,
  );
  const ratio = agentMedian / bareMedian;
  verdict("http message vs bare route", ratio, "≤ 1.5×", ratio <= 1.5);
  const floorRatio = agentMedian / hopMedian;
  verdict("http message vs the floor", floorRatio, "≤ 1.15×", floorRatio <= 1.15);
} finally {
  try {
    await refs.stop();
  } finally {
    await host.cleanup();
  }
}

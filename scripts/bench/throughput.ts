/**
 * Message throughput under load, measured with Debian's `wrk` (8 connections, 2 threads): a
 * read-only message (`get`) and a state-changing one (`increment`) to one `demo.counter` on a host
 * process started as users start it, against a bare Hono echo route in a process of its own.
 * Rounds alternate the targets so drift of a shared machine affects all alike. The floor (the
 * bare route plus one round trip to a bare worker, echo_hop.ts) is measured too: what any design
 * that runs agent code off the thread serving HTTP pays, so the messages are also given as a
 * ratio to it.
 *
 * Goals: read-only ≥ 0.5× the bare route, state-changing ≥ 0.35×.
 *
 * Run: `deno run -A scripts/bench/throughput.ts [--rounds 3] [--seconds 5] [--connections 8]`
 */
import { parseArgs } from "node:util";
import { median } from "./stats.ts";
import { spawnPrintingUrl } from "../spawn_host.ts";
import { counterMessagesUrl, postWithWrk, requireWrk, stopServers, wrkFlags, wrkThreads } from "./wrk.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "8" },
  },
});
const { rounds, seconds, connections } = wrkFlags(values);
await requireWrk();

const root = new URL("../../", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "paglets-bench-throughput-" });
const children: Deno.ChildProcess[] = [];

/** Spawns a process that prints its URL (see scripts/spawn_host.ts); it is stopped at the end. */
async function spawnServer(cmd: string, args: string[]): Promise<string> {
  const { child, url } = await spawnPrintingUrl(cmd, args, { timeoutMs: 20_000, stderr: "inherit" });
  children.push(child);
  return url;
}

/** One wrk run of `body` against `url`; see wrk.ts. */
function wrk(url: string, body: string): Promise<number> {
  return postWithWrk(url, body, { connections, seconds, dir: work }).then((r) => r.perSecond);
}

try {
  const bare = await spawnServer(Deno.execPath(), [
    "run",
    "-A",
    "--quiet",
    "--config",
    `${root}deno.json`,
    `${root}scripts/bench/bare_echo.ts`,
  ]);
  const hostUrl = await spawnServer(`${root}scripts/paglets`, [
    "host",
    "--name",
    "bench",
    "--port",
    "0",
    "--data-dir",
    `${work}/host`,
    "--json",
  ]);
  const messages = await counterMessagesUrl(hostUrl);
  const targets: [string, string, string][] = [
    ["bare Hono echo", `${bare}/echo`, JSON.stringify({ kind: "get", args: {} })],
    ["floor: bare route + worker hop", `${bare}/echo-hop`, JSON.stringify({ kind: "get", args: {} })],
    ["read-only message (get)", messages, JSON.stringify({ kind: "get", args: {} })],
    ["state-changing message (increment)", messages, JSON.stringify({ kind: "increment", args: { by: 1 } })],
  ];
  for (const [, url, body] of targets.slice(1, 3)) await wrk(url, body); // warm-up: the echo worker, the host
  const rates: number[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, [, url, body]] of targets.entries()) rates[i].push(await wrk(url, body));
  }
  const bareMedian = median([...rates[0]]);
  const floorMedian = median([...rates[1]]);
  console.log(
    `wrk -t${
      wrkThreads(connections)
    } -c${connections} -d${seconds}s, ${rounds} alternating rounds; requests/s, median (range):`,
  );
  const goals = [null, null, 0.5, 0.35];
  for (const [i, [name]] of targets.entries()) {
    const m = median([...rates[i]]);
    const sorted = [...rates[i]].sort((a, b) => a - b);
    const ratio = m / bareMedian;
    const floor = i < 2 ? "" : `, ${(m / floorMedian).toFixed(2)}× the floor`;
    const goal = goals[i] === null
      ? ""
      : `; goal ≥ ${goals[i]}× bare → ${ratio >= goals[i]! ? "MET" : "NOT MET"}`;
    console.log(
      `  ${name.padEnd(36)} ${m.toFixed(0).padStart(7)} (${sorted[0].toFixed(0)}–${
        sorted.at(-1)!.toFixed(0)
      })  ${ratio.toFixed(2)}× bare${floor}${goal}`,
    );
  }
} finally {
  await stopServers(children, work);
}

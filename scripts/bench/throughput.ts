/**
 * Message throughput under load, measured with Debian's `wrk` (8 connections, 2 threads): a
 * read-only message (`get`) and a state-changing one (`increment`) to one `demo.counter` on a host
 * process started as users start it, against a bare Hono echo route in a process of its own.
 * Rounds alternate the three targets so drift of a shared machine affects all alike.
 *
 * Goals: read-only ≥ 0.5× the bare route, state-changing ≥ 0.35×.
 *
 * Run: `deno run -A scripts/bench/throughput.ts [--rounds 3] [--seconds 5] [--connections 8]`
 */
import { parseArgs } from "node:util";
import { median } from "./stats.ts";
import { spawnPrintingUrl } from "../spawn_host.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "8" },
  },
});
const rounds = Number(values.rounds),
  seconds = Number(values.seconds),
  connections = Number(values.connections);
for (
  const [name, v, max] of [["rounds", rounds, 50], ["seconds", seconds, 60], [
    "connections",
    connections,
    256,
  ]]
) {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > (max as number)) {
    throw new RangeError(`Cannot run as '--${name}' must be an integer in 1..${max}: current value is ${v}`);
  }
}
if (!(await new Deno.Command("sh", { args: ["-c", "command -v wrk"], stdout: "null" }).output()).success) {
  console.error("wrk is missing: install Debian's package `wrk` (apt-get install wrk)");
  Deno.exit(2);
}

const root = new URL("../../", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "paglets-bench-throughput-" });
const children: Deno.ChildProcess[] = [];

/** Spawns a process that prints its URL (see scripts/spawn_host.ts); it is stopped at the end. */
async function spawnServer(cmd: string, args: string[]): Promise<string> {
  const { child, url } = await spawnPrintingUrl(cmd, args, { timeoutMs: 20_000, stderr: "inherit" });
  children.push(child);
  return url;
}

/** Requests per second `wrk` reached on one POST route. */
async function wrk(url: string, body: string): Promise<number> {
  const script = `${work}/post.lua`;
  await Deno.writeTextFile(
    script,
    `wrk.method = "POST"\nwrk.body = ${
      JSON.stringify(body)
    }\nwrk.headers["content-type"] = "application/json"\n`,
  );
  const out = await new Deno.Command("wrk", {
    args: ["-t2", `-c${connections}`, `-d${seconds}s`, "-s", script, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (!out.success || non2xx) throw new Error(`wrk against ${url} failed:\n${text}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(text)![1]);
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
  // The host prints its URL as soon as it listens; create waits until it serves.
  let agentId = "";
  for (let i = 0; !agentId && i < 200; i++) {
    const res = await fetch(`${hostUrl}/v1/agents`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "demo.counter" }),
    });
    const body = await res.json();
    if (res.status === 201) agentId = body.id;
    else await new Promise((r) => setTimeout(r, 25));
  }
  if (!agentId) throw new Error("could not create the counter");
  const messages = `${hostUrl}/v1/agents/${agentId}/messages`;
  const targets: [string, string, string][] = [
    ["bare Hono echo", `${bare}/echo`, JSON.stringify({ kind: "get", args: {} })],
    ["read-only message (get)", messages, JSON.stringify({ kind: "get", args: {} })],
    ["state-changing message (increment)", messages, JSON.stringify({ kind: "increment", args: { by: 1 } })],
  ];
  await wrk(`${bare}/echo`, targets[0][2]); // warm-up of both servers
  await wrk(messages, targets[1][2]);
  const rates: number[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, [, url, body]] of targets.entries()) rates[i].push(await wrk(url, body));
  }
  const bareMedian = median([...rates[0]]);
  console.log(
    `wrk -t2 -c${connections} -d${seconds}s, ${rounds} alternating rounds; requests/s, median (range):`,
  );
  const goals = [null, 0.5, 0.35];
  for (const [i, [name]] of targets.entries()) {
    const m = median([...rates[i]]);
    const sorted = [...rates[i]].sort((a, b) => a - b);
    const ratio = m / bareMedian;
    const goal = goals[i] === null ? "" : `; goal ≥ ${goals[i]}× → ${ratio >= goals[i]! ? "MET" : "NOT MET"}`;
    console.log(
      `  ${name.padEnd(36)} ${m.toFixed(0).padStart(7)} (${sorted[0].toFixed(0)}–${
        sorted.at(-1)!.toFixed(0)
      })  ${ratio.toFixed(2)}× bare${goal}`,
    );
  }
} finally {
  for (const child of children) {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  }
  await Deno.remove(work, { recursive: true }).catch(() => {/* already gone */});
}

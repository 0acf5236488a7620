/**
 * A host with many agents: what a reading call, a listing and a graceful stop cost once a host holds
 * thousands of paglets. Creates `--agents` demo.counters on a host in its own process (`main.ts
 * host`, 12 clients at a time), deactivates half of them, and times the compute-slots `jobs` call
 * (what `paglets jobs ps` and the dashboard make), `GET /v1/agents?status=inactive` and the stop
 * (SIGTERM: every live agent is deactivated first). `--baseline CHECKOUT` runs the same against
 * another checkout, alternating, and prints the ratio of each median.
 *
 * Run: `deno run -A scripts/bench/many_agents.ts [--agents 20000] [--rounds 2] [--baseline DIR]`
 */
import { parseArgs } from "node:util";
import { spawnPrintingUrl } from "../spawn_host.ts";
import { median } from "./stats.ts";
import { forEachLimited } from "../../agents/limited.ts";

/** Clients at a time while the agents are made and put to sleep. */
const CLIENTS = 12;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    agents: { type: "string", default: "20000" },
    rounds: { type: "string", default: "2" },
    baseline: { type: "string" },
  },
});
const agents = Number(values.agents);
const rounds = Number(values.rounds);
if (!Number.isInteger(agents) || agents < 2 || !Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError("Cannot run as --agents must be a whole number >= 2 and --rounds >= 1");
}

interface Run {
  jobsMs: number;
  inactiveListMs: number;
  stopMs: number;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** One round against the checkout at `root`. */
async function run(root: string): Promise<Run> {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-bench-many-" });
  const { child, url } = await spawnPrintingUrl(Deno.execPath(), [
    "run",
    "--allow-all",
    "--quiet",
    "--config",
    `${root}/deno.json`,
    `${root}/main.ts`,
    "host",
    "--name",
    "many",
    "--port",
    "0",
    "--data-dir",
    dataDir,
    "--json",
  ], { timeoutMs: 60_000 });
  try {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(url + path, {
        method,
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return await res.json();
    };
    const ids: string[] = [];
    await forEachLimited(Array.from({ length: agents }, (_, i) => i), CLIENTS, async () => {
      ids.push((await call("POST", "/v1/agents", { type: "demo.counter" })).id);
    });
    const jobsMs = await timed(() => call("POST", "/v1/services/compute-slots/jobs", {}));
    await forEachLimited(ids.slice(0, agents / 2), CLIENTS, async (id) => {
      await call("POST", `/v1/agents/${id}/deactivate`, {});
    });
    const inactiveListMs = await timed(() => call("GET", "/v1/agents?status=inactive"));
    const stopMs = await timed(async () => {
      child.kill("SIGTERM");
      await child.status;
    });
    return { jobsMs, inactiveListMs, stopMs };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* stopped */ }
    await child.status;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const subjects = [["this checkout", root], ...(values.baseline ? [["baseline", values.baseline]] : [])];
const results = new Map<string, Run[]>(subjects.map(([label]) => [label, []]));
for (let round = 0; round < rounds; round++) {
  for (const [label, dir] of subjects) {
    const r = await run(dir.replace(/\/$/, ""));
    results.get(label)!.push(r);
    console.error(
      `round ${round + 1} ${label}: ${
        JSON.stringify(r, (_, v) => typeof v === "number" ? Math.round(v) : v)
      }`,
    );
  }
}
console.log(
  `${agents} demo.counter agents, half of them deactivated; medians of ${rounds} alternating rounds (ms):`,
);
const mine = results.get("this checkout")!;
for (const key of ["jobsMs", "inactiveListMs", "stopMs"] as const) {
  const m = median(mine.map((r) => r[key]));
  const base = values.baseline ? median(results.get("baseline")!.map((r) => r[key])) : null;
  const label = {
    jobsMs: "jobs (compute-slots)",
    inactiveListMs: "GET /v1/agents?status=inactive",
    stopMs: "stop (SIGTERM)",
  }[key];
  console.log(
    `  ${label.padEnd(32)} ${m.toFixed(0).padStart(7)}` +
      (base === null ? "" : `  baseline ${base.toFixed(0).padStart(7)}  ${(m / base).toFixed(3)}×`),
  );
}

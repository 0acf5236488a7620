/**
 * A host's memory after running one edited script after another: each of `--versions` versions of
 * a module of `--kib` KiB is uploaded, one paglet of it created, messaged and disposed, on a host
 * with one agent worker (`main.ts host --workers 1`, `PAGLETS_WORKER_IDLE_MS` 2 s). Prints the
 * host's RSS while the worker lives and once it was retired (`worker-retired`), for each round and
 * as medians (ranges). `--baseline DIR` runs a host from another checkout too, rounds alternating.
 *
 * Run: `deno run -A scripts/bench/module_memory.ts [--rounds 2] [--versions 30] [--kib 500] [--baseline DIR]`
 */
import { parseArgs } from "node:util";
import { median } from "./stats.ts";
import { spawnPrintingUrl } from "../spawn_host.ts";
import { sleep } from "../../agents/timers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "2" },
    versions: { type: "string", default: "30" },
    kib: { type: "string", default: "500" },
    baseline: { type: "string" },
  },
});
const rounds = Number(values.rounds), versions = Number(values.versions), kib = Number(values.kib);
for (
  const [name, v, max] of [["rounds", rounds, 20], ["versions", versions, 500], ["kib", kib, 10_000]] as const
) {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new RangeError(`Cannot run as '--${name}' must be an integer in 1..${max}: current value is ${v}`);
  }
}
const root = new URL("../../", import.meta.url).pathname;
const HEADERS = { "content-type": "application/json", host: "127.0.0.1" };

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
}

/** One round against the checkout in `dir`: RSS with the worker alive, then once it was retired. */
async function round(dir: string): Promise<{ during: number; after: number }> {
  const data = await Deno.makeTempDir({ prefix: "paglets-bench-modules-" });
  const { child, url } = await spawnPrintingUrl(Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-all",
    "--config",
    `${dir}deno.json`,
    `${dir}main.ts`,
    "host",
    "--name",
    "modules",
    "--port",
    "0",
    "--data-dir",
    data,
    "--workers",
    "1",
    "--json",
  ], { timeoutMs: 20_000 });
  try {
    const pad = "x".repeat(kib * 1024);
    for (let i = 0; i < versions; i++) {
      const source = `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\nconst PAD = "${pad}";\n` +
        `export class V extends Paglet {\n static type = "bench.v";\n initialState() { return {}; }\n` +
        ` onMessage() { return ${i} + PAD.length; }\n}\n`;
      const put = await fetch(`${url}/v1/code`, {
        method: "PUT",
        body: source,
        headers: { host: "127.0.0.1" },
      });
      const { hash } = await put.json();
      const created = await fetch(`${url}/v1/agents`, {
        method: "POST",
        headers: HEADERS,
        body: JSON.stringify({ type: "bench.v", code: hash }),
      });
      const { id } = await created.json();
      const sent = await fetch(`${url}/v1/agents/${id}/messages`, {
        method: "POST",
        headers: HEADERS,
        body: JSON.stringify({ kind: "x" }),
      });
      await sent.body?.cancel();
      const gone = await fetch(`${url}/v1/agents/${id}`, {
        method: "DELETE",
        headers: { host: "127.0.0.1" },
      });
      await gone.body?.cancel();
    }
    const during = rssMiB(child.pid);
    let retired = false;
    for (let i = 0; i < 100 && !retired; i++) {
      const { events } =
        await (await fetch(`${url}/v1/events?since=0&limit=1000`, { headers: { host: "127.0.0.1" } }))
          .json() as { events: { kind: string }[] };
      retired = events.some((e) => e.kind === "worker-retired");
      if (!retired) await sleep(200);
    }
    if (!retired) throw new Error("the host's worker was not retired within 20 s");
    await sleep(1000); // the allocator's return of freed pages, after the worker ended
    return { during, after: rssMiB(child.pid) };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(data, { recursive: true });
  }
}

const checkouts = [{ label: "this checkout", dir: root }];
if (values.baseline) checkouts.push({ label: "baseline", dir: `${values.baseline.replace(/\/*$/, "")}/` });
const results = checkouts.map(() => ({ during: [] as number[], after: [] as number[] }));
Deno.env.set("PAGLETS_WORKER_IDLE_MS", "2000");
for (let r = 0; r < rounds; r++) {
  for (const [i, { label, dir }] of checkouts.entries()) {
    const { during, after } = await round(dir);
    results[i].during.push(during);
    results[i].after.push(after);
    console.log(`round ${r + 1}, ${label}: ${during} MiB with the worker, ${after} MiB once it was retired`);
  }
}
const show = (xs: number[]) => `${median([...xs])} MiB (${Math.min(...xs)}–${Math.max(...xs)})`;
console.log(
  `${versions} versions of a ${kib} KiB module, ${rounds} alternating rounds; RSS, median (range):`,
);
for (const [i, { label }] of checkouts.entries()) {
  console.log(
    `  ${label.padEnd(14)} with the worker ${show(results[i].during)}; retired ${show(results[i].after)}`,
  );
}

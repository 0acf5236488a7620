/**
 * A big move between two host processes: a `test.traveller` paglet (tests/fixtures/mobile_paglets.ts)
 * with one registered file of `--mib` MiB (400 by default) is dispatched from one host to the other
 * on 127.0.0.1, back and forth, `--runs` times (3 by default: A→B, B→A, A→B). Each run is timed
 * from the dispatch request to its answer (the target has stored the paglet and its file, the
 * source has let go of it) and printed with its MB/s (10^6 bytes a second, of the file); then the
 * median and the spread. Before each timed run `sync` flushes the dirty pages the previous one
 * left.
 *
 * `--code-mib N` moves a paglet of travelling code instead: a module of N MiB (the size of a big
 * script's bundle) uploaded to the first host, with no file; each run is timed from the dispatch
 * request to the paglet's answer to a message on the target (it answers once it started there, so
 * the run holds the target's work on its code: the check that its store has the module).
 *
 * `--baseline DIR` runs the same against another checkout too (e.g. the code before a change:
 * `git archive HEAD | tar -x -C DIR` and a `node_modules` symlink), its runs alternating with
 * this checkout's, so that the drift of a shared machine weighs on both alike.
 *
 * Run: `deno run -A scripts/bench/transfer.ts [--mib 400 | --code-mib 4] [--runs 3] [--baseline DIR]`
 */
import { parseArgs } from "node:util";
import { HostClient } from "../../host/client.ts";
import { firstJsonLine } from "../spawn_host.ts";
import { median } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "400" },
    runs: { type: "string", default: "3" },
    "code-mib": { type: "string", default: "0" },
    baseline: { type: "string" },
  },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
const CODE_BYTES = Number(values["code-mib"]) * 1024 * 1024;
const FILE_BYTES = CODE_BYTES > 0 ? 0 : MIB * 1024 * 1024;
const CODE_TYPE = "bench.code-hopper";
const HERE = new URL("../../", import.meta.url).pathname;

interface BenchHost {
  url: string;
  client: HostClient;
  process: Deno.ChildProcess;
  dataDir: string;
}

/** A pair of hosts run from the checkout at `root`, with a paglet carrying the big file on `a`. */
interface Variant {
  label: string;
  hosts: [BenchHost, BenchHost];
  id: string;
  /** Where the paglet is now: 0 or 1. */
  at: number;
  times: number[];
  failures: number;
}

const started: BenchHost[] = [];

async function startHost(root: string, name: string): Promise<BenchHost> {
  const dataDir = await Deno.makeTempDir({ prefix: `paglets-bench-transfer-${name}-` });
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      "--config",
      `${root}/deno.json`,
      `${root}/main.ts`,
      "host",
      "--name",
      name,
      "--port",
      "0",
      "--bind",
      "127.0.0.1",
      "--data-dir",
      dataDir,
      "--json",
      "--workers",
      "1",
      "--module",
      new URL(`file://${root}/tests/fixtures/mobile_paglets.ts`).href,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const host: BenchHost = { url: "", client: null!, process, dataDir };
  started.push(host);
  const info = await firstJsonLine(process.stdout, 30_000);
  if (!info) throw new Error(`host ${name} (${root}) did not start`);
  host.url = String(info.url);
  host.client = new HostClient(host.url, { apiKey: null, timeoutMs: 600_000 });
  return host;
}

async function variant(label: string, root: string): Promise<Variant> {
  const hosts: [BenchHost, BenchHost] = [
    await startHost(root, `${label}-a`),
    await startHost(root, `${label}-b`),
  ];
  if (CODE_BYTES > 0) {
    const put = await hosts[0].client.fetch("PUT", "/v1/code", { body: hopperModule() });
    if (put.status !== 201) throw new Error(`${label}: the upload of the module answered ${put.status}`);
    const { hash } = await put.json() as { hash: string };
    const { id } = await hosts[0].client.createAgent({ type: CODE_TYPE, code: hash });
    return { label, hosts, id, at: 0, times: [], failures: 0 };
  }
  const { id } = await hosts[0].client.createAgent({ type: "test.traveller" });
  await hosts[0].client.send(id, { kind: "writeFile", args: { name: "data.bin", size: FILE_BYTES } }, {
    timeoutMs: 600_000,
  });
  return { label, hosts, id, at: 0, times: [], failures: 0 };
}

/** A paglet type answering every message with its host's name, in a module of about CODE_BYTES. */
function hopperModule(): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(
    `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
      `export class Hopper extends Paglet { static type = "${CODE_TYPE}"; onMessage() { return this.host.name; } }\n` +
      `export const PAD = "${"x".repeat(CODE_BYTES)}";\n`,
  );
}

async function sync(): Promise<void> {
  await new Deno.Command("sync").output();
}

/** Which host has the paglet active once a failed move has settled (it may be held `moving` a while). */
async function settledAt(v: Variant): Promise<number> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    for (const [i, host] of v.hosts.entries()) {
      const agent = await host.client.getAgent(v.id).catch(() => null);
      if (agent?.status === "active") return i;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${v.label}: the paglet did not settle on either host within 600 s`);
}

async function run(v: Variant, i: number): Promise<void> {
  const [from, to] = [v.hosts[v.at], v.hosts[1 - v.at]];
  const arrow = v.at === 0 ? "A→B" : "B→A";
  await sync();
  const t = performance.now();
  try {
    await from.client.dispatch(v.id, to.url);
    if (CODE_BYTES > 0) await to.client.send(v.id, { kind: "where" });
  } catch (err) {
    // A failed move is no sample: it is reported, and the next run starts where the paglet is.
    const s = (performance.now() - t) / 1000;
    console.log(
      `${v.label} run ${i + 1} (${arrow}): FAILED after ${s.toFixed(2)} s: ${(err as Error).message}`,
    );
    v.failures++;
    v.at = await settledAt(v);
    return;
  }
  const s = (performance.now() - t) / 1000;
  v.at = 1 - v.at;
  v.times.push(s);
  console.log(`${v.label} run ${i + 1} (${arrow}): ${took(s)}`);
}

/** A run's time, with the file's MB/s when it carried one. */
function took(s: number): string {
  return FILE_BYTES > 0
    ? `${s.toFixed(2)} s, ${(FILE_BYTES / 1e6 / s).toFixed(1)} MB/s`
    : `${(s * 1000).toFixed(1)} ms`;
}

function summary(v: Variant): void {
  const failed = v.failures ? `, ${v.failures} failed` : "";
  if (v.times.length === 0) return console.log(`${v.label}: no run completed${failed}`);
  const times = [...v.times].sort((a, b) => a - b);
  const what = FILE_BYTES > 0 ? `${MIB} MiB` : `a paglet of a ${values["code-mib"]} MiB module`;
  console.log(
    `${v.label}: median ${took(median(times))}, range ${took(times[0])} – ${
      took(times[times.length - 1])
    } over ${times.length} runs of ${what}${failed}`,
  );
}

try {
  const variants = [await variant("this", HERE)];
  if (values.baseline) variants.push(await variant("baseline", values.baseline.replace(/\/+$/, "")));
  for (let i = 0; i < RUNS; i++) {
    for (const v of variants) await run(v, i);
  }
  for (const v of variants) summary(v);
} finally {
  for (const host of started) {
    try {
      host.process.kill("SIGTERM");
    } catch { /* gone */ }
    await host.process.status;
    await Deno.remove(host.dataDir, { recursive: true }).catch(() => {});
  }
}

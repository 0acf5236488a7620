/**
 * A big move between two host processes: a `test.traveller` paglet (tests/fixtures/mobile_paglets.ts)
 * with one registered file of `--mib` MiB (400 by default) is dispatched from one host to the other
 * on 127.0.0.1, back and forth, `--runs` times (3 by default: A→B, B→A, A→B). Each run is timed
 * from the dispatch request to its answer (the target has stored the paglet and its file, the
 * source has let go of it) and printed with its MB/s (10^6 bytes a second, of the file); then the
 * median and the spread. Before each timed run `sync` flushes the dirty pages the previous one
 * left.
 *
 * `--baseline DIR` runs the same against another checkout too (e.g. the code before a change:
 * `git archive HEAD | tar -x -C DIR` and a `node_modules` symlink), its runs alternating with
 * this checkout's, so that the drift of a shared machine weighs on both alike.
 *
 * Run: `deno run -A scripts/bench/transfer.ts [--mib 400] [--runs 3] [--baseline DIR]`
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
    baseline: { type: "string" },
  },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
const FILE_BYTES = MIB * 1024 * 1024;
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
  const { id } = await hosts[0].client.createAgent({ type: "test.traveller" });
  await hosts[0].client.send(id, { kind: "writeFile", args: { name: "data.bin", size: FILE_BYTES } }, {
    timeoutMs: 600_000,
  });
  return { label, hosts, id, at: 0, times: [], failures: 0 };
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
  console.log(
    `${v.label} run ${i + 1} (${arrow}): ${s.toFixed(2)} s, ${(FILE_BYTES / 1e6 / s).toFixed(1)} MB/s`,
  );
}

function summary(v: Variant): void {
  const failed = v.failures ? `, ${v.failures} failed` : "";
  if (v.times.length === 0) return console.log(`${v.label}: no run completed${failed}`);
  const times = [...v.times];
  const m = median(times);
  console.log(
    `${v.label}: median ${m.toFixed(2)} s (${(FILE_BYTES / 1e6 / m).toFixed(1)} MB/s), range ${
      times[0].toFixed(2)
    }–${times[times.length - 1].toFixed(2)} s over ${times.length} runs of ${MIB} MiB${failed}`,
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

/**
 * Mobility benchmarks, between this process (host A, in-process) and host processes B and C:
 *
 * 1. Small hop: dispatch A→B of a paglet with a 256-byte state, against a bare HTTP POST of the
 *    same envelope bytes from A's process to B's process. Target: median within 3×.
 * 2. Big hop: dispatch A→B with a 1 MiB state and a 64 MiB registered file, against a bare POST
 *    of the same bytes streamed from the same file (B discards them; and B writes them to disk).
 *    Target: median within 2× (of the write-to-disk baseline).
 * 3. Tour: a paglet dispatching itself round A→B→C→A… from run(), 100 tours (300 hops):
 *    hops per second and the per-hop median.
 *
 * Hops are timed from the dispatch call to the target's acknowledgement (the agent is durable
 * there); between timed hops the paglet is retracted to A (not timed). Dispatch and bare
 * samples alternate, each after the same short pause, so drift of a shared machine and the
 * warmth of threads affect both alike; before each timed big
 * transfer `sync` flushes the dirty pages the previous one left.
 *
 * Run: `deno run -A scripts/bench/mobility.ts [--small 200] [--big 7] [--tours 100] [--file-mib 64]`
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Host } from "../../host/host.ts";
import { extensionsForHost } from "../../cli/extensions.ts";
import type { MobilityExtension } from "../../host/transfers/mod.ts";
import { byteStringHeader, encodeTransferHead } from "../../host/transfers/envelope.ts";
import { concat } from "../../agents/bytes.ts";
import { newTransferId } from "../../host/transfers/dispatcher.ts";
import { decodeCbor, encodeCbor } from "../../agents/cbor.ts";
import { toMessage } from "../../agents/message.ts";
import type { TourState } from "./mobility_paglets.ts";
import { median, percentile, verdict } from "./stats.ts";
import { writeAll } from "../../host/write_all.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    small: { type: "string", default: "200" },
    big: { type: "string", default: "7" },
    tours: { type: "string", default: "100" },
    "file-mib": { type: "string", default: "64" },
  },
});
const SMALL = Number(values.small);
const BIG = Number(values.big);
const TOURS = Number(values.tours);
const FILE_MIB = Number(values["file-mib"]);
const PAGLETS = new URL("./mobility_paglets.ts", import.meta.url).href;

interface Child {
  url: string;
  process: Deno.ChildProcess;
}

async function startChild(name: string): Promise<Child> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", new URL("./mobility_host.ts", import.meta.url).pathname, name],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`${name} did not start`);
    text += value;
  }
  void (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return { url: JSON.parse(text.split("\n")[0]).url, process };
}

const ms = (x: number) => `${x.toFixed(2)} ms`;
const dataDir = await Deno.makeTempDir({ prefix: "paglets-bench-a-" });
const scratch = await Deno.makeTempDir({ prefix: "paglets-bench-files-" });
const children: Child[] = [];
const a = await Host.start(
  { name: "bench-a", port: 0, dataDir, quiet: true, modules: [PAGLETS] },
  extensionsForHost(),
);
try {
  children.push(await startChild("bench-b"), await startChild("bench-c"));
  const [b, c] = children;
  const mobility = a.extensions.find((e) => e.name === "mobility") as MobilityExtension;
  const { dispatcher } = mobility;
  const post = async (url: string, body: BodyInit): Promise<void> => {
    const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/cbor" } });
    if (!res.ok) throw new Error(`sink answered ${res.status}`);
    await res.arrayBuffer();
  };
  const envelopeBytes = (
    id: string,
    state: Uint8Array,
    files: { name: string; size: number; sha256: string }[],
  ) =>
    encodeTransferHead({
      transferId: newTransferId(),
      kind: "dispatch",
      agent: { id, type: "bench.cargo", state, createdAt: Date.now(), meta: {} },
      source: { name: a.name, url: a.url },
      meshVersion: a.options.meshVersion,
      arrivalMode: "active",
      files: files.map((f) => ({ ...f, mode: "copy" as const })),
      sentAt: Date.now(),
    });

  // ---- 1. small hop ---------------------------------------------------------------------
  if (SMALL > 0) {
    const payload = crypto.getRandomValues(new Uint8Array(256));
    const { id } = await a.runtime.create({ type: "bench.cargo", state: { payload } });
    const head = envelopeBytes(id, encodeCbor({ payload, hops: 0 }), []);
    const hop: number[] = [];
    const bare: number[] = [];
    const warmup = Math.min(30, SMALL);
    // Both timed requests start from the same state: the processes have had a moment of quiet
    // after the untimed retract (the first request after activity is served by warm threads).
    const quiet = () => new Promise((r) => setTimeout(r, 2));
    for (let i = 0; i < SMALL + warmup; i++) {
      await quiet();
      let t = performance.now();
      await post(`${b.url}/bench/sink`, head as Uint8Array<ArrayBuffer>);
      const bt = performance.now() - t;
      await quiet();
      t = performance.now();
      await dispatcher.dispatch(id, b.url);
      const dt = performance.now() - t;
      await dispatcher.retract(id, b.url);
      if (i >= warmup) {
        hop.push(dt);
        bare.push(bt);
      }
    }
    const [mh, mb] = [median(hop), median(bare)];
    console.log(
      `small hop (${head.length} B envelope, ${SMALL} samples): dispatch median ${ms(mh)} p90 ${
        ms(percentile(hop, 90))
      }; bare POST median ${ms(mb)} p90 ${ms(percentile(bare, 90))}`,
    );
    verdict("small hop vs bare POST", mh / mb, "≤ 3×", mh / mb <= 3);
    await a.runtime.dispose(id);
  }

  // ---- 2. 1 MiB state + 64 MiB file -------------------------------------------------------
  if (BIG > 0) {
    const payload = new Uint8Array(1024 * 1024);
    for (let o = 0; o < payload.length; o += 65536) crypto.getRandomValues(payload.subarray(o, o + 65536));
    const { id } = await a.runtime.create({ type: "bench.cargo", state: { payload } });
    const file = join(scratch, "cargo.bin");
    {
      const f = await Deno.open(file, { write: true, create: true });
      const chunk = new Uint8Array(1024 * 1024);
      for (let i = 0; i < FILE_MIB; i++) {
        for (let o = 0; o < chunk.length; o += 65536) crypto.getRandomValues(chunk.subarray(o, o + 65536));
        await writeAll(f, chunk);
      }
      f.close();
    }
    await a.runtime.deliver(id, toMessage({ kind: "register", args: { path: file, name: "cargo.bin" } }));
    const size = FILE_MIB * 1024 * 1024;
    const head = concat([
      envelopeBytes(id, encodeCbor({ payload, hops: 0 }), [{
        name: "cargo.bin",
        size,
        sha256: "0".repeat(64),
      }]),
      byteStringHeader(size),
    ]);
    const bareBody = async () => {
      const f = await Deno.open(file, { read: true });
      return ReadableStream.from((async function* () {
        yield head;
        yield* f.readable;
      })());
    };
    const hop: number[] = [];
    const discard: number[] = [];
    const write: number[] = [];
    // Each timed transfer starts with no dirty pages left by the one before (fair to all three).
    const flush = () => new Deno.Command("sync").output();
    for (let i = 0; i < BIG + 1; i++) {
      await flush();
      let t = performance.now();
      await dispatcher.dispatch(id, b.url);
      const dt = performance.now() - t;
      await dispatcher.retract(id, b.url);
      await flush();
      t = performance.now();
      await post(`${b.url}/bench/sink`, await bareBody());
      const d = performance.now() - t;
      await flush();
      t = performance.now();
      await post(`${b.url}/bench/sink?write=1`, await bareBody());
      const w = performance.now() - t;
      if (i > 0) {
        hop.push(dt);
        discard.push(d);
        write.push(w);
      }
    }
    const [mh, md, mw] = [median(hop), median(discard), median(write)];
    console.log(
      `big hop (1 MiB state + ${FILE_MIB} MiB file, ${BIG} samples): dispatch median ${
        ms(mh)
      }; bare POST median ${ms(md)} (discarded), ${ms(mw)} (written to disk)`,
    );
    console.log(
      `  throughput: dispatch ${
        ((size + payload.length) / 1024 / 1024 / (mh / 1000)).toFixed(0)
      } MiB/s, bare ${((size + payload.length) / 1024 / 1024 / (mw / 1000)).toFixed(0)} MiB/s (written)`,
    );
    verdict("big hop vs bare POST written to disk", mh / mw, "≤ 2×", mh / mw <= 2);
    verdict("big hop vs bare POST discarded", mh / md, "≤ 2×", mh / md <= 2);
    await a.runtime.dispose(id);
  }

  // ---- 3. tour of three hosts ----------------------------------------------------------------
  if (TOURS > 0) {
    const hops = TOURS * 3;
    const { id } = await a.runtime.create({
      type: "bench.tourer",
      state: { itinerary: [a.url, b.url, c.url], hops },
    });
    const deadline = Date.now() + 120_000;
    let state: TourState | null = null;
    while (Date.now() < deadline) {
      const record = a.runtime.isLive(id) ? await a.runtime.record(id) : null;
      const s = record ? decodeCbor<TourState>(record.state) : null;
      if (s && s.done === hops && s.arrivals.length === hops) {
        state = s;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!state) {
      const where = await Promise.all(
        [b.url, c.url].map((u) => fetch(`${u}/v1/agents/${id}`).then((r) => r.text())),
      );
      const here = await a.runtime.record(id);
      throw new Error(
        `the tour did not finish: on A ${here?.status} ${JSON.stringify(here?.meta)}; B ${where[0]}; C ${
          where[1]
        }`,
      );
    }
    const transit = state.arrivals.map((t, i) => t - state!.departures[i]);
    const cycle = state.arrivals.slice(1).map((t, i) => t - state!.arrivals[i]);
    const seconds = (state.arrivals[hops - 1] - state.departures[0]) / 1000;
    console.log(
      `tour: ${TOURS} tours of 3 hosts = ${hops} hops in ${seconds.toFixed(2)} s → ${
        (hops / seconds).toFixed(0)
      } hops/s; ` +
        `per hop median ${ms(median(cycle))} (departure→arrival ${ms(median(transit))}, p90 ${
          ms(percentile(transit, 90))
        })`,
    );
  }
} finally {
  for (const child of children) {
    try {
      child.process.kill("SIGTERM");
    } catch { /* gone */ }
    await child.process.status;
  }
  await a.stop();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
}

/**
 * A host process for the mobility benchmark: a full host (CLI extensions, the bench paglets) plus
 * a bare sink route, `POST /bench/sink[?write=1]`, that reads a body (and with `write=1` writes
 * it to a file in 4 MiB batches) and answers its length — the baseline a transfer is compared
 * with. Prints `{"url"}` once it listens; stops on SIGTERM.
 *
 * Run by scripts/bench/mobility.ts: `deno run -A mobility_host.ts NAME`
 */
import { Host } from "../../host/host.ts";
import { routeGroups } from "../../host/http/app.ts";
import { extensionsForHost } from "../../cli/extensions.ts";
import { writeAll } from "../../host/write_all.ts";

/** Incoming chunks are small; a plain but competent writer gathers them into 4 MiB writes. */
const BATCH = 4 << 20;

routeGroups.push((app) => {
  app.post("/bench/sink", async (c) => {
    const body = c.req.raw.body!;
    let size = 0;
    if (c.req.query("write") !== "1") {
      for await (const chunk of body) size += chunk.length;
      return c.json({ size });
    }
    const path = await Deno.makeTempFile({ prefix: "paglets-bench-sink-" });
    const file = await Deno.open(path, { write: true });
    const batch = new Uint8Array(BATCH);
    let used = 0;
    const flush = async () => {
      await writeAll(file, batch.subarray(0, used));
      used = 0;
    };
    for await (const chunk of body) {
      size += chunk.length;
      for (let offset = 0; offset < chunk.length;) {
        const take = Math.min(chunk.length - offset, BATCH - used);
        batch.set(chunk.subarray(offset, offset + take), used);
        used += take;
        offset += take;
        if (used === BATCH) await flush();
      }
    }
    await flush();
    file.close();
    await Deno.remove(path);
    return c.json({ size });
  });
});

const name = Deno.args[0] ?? "bench";
const dataDir = await Deno.makeTempDir({ prefix: `paglets-bench-${name}-` });
const host = await Host.start({
  name,
  port: 0,
  dataDir,
  quiet: true,
  modules: [new URL("./mobility_paglets.ts", import.meta.url).href],
}, extensionsForHost());
console.log(JSON.stringify({ url: host.url }));
const stop = Promise.withResolvers<void>();
Deno.addSignalListener("SIGTERM", () => stop.resolve());
await stop.promise;
await host.stop();
await Deno.remove(dataDir, { recursive: true }).catch(() => {});
Deno.exit(0);

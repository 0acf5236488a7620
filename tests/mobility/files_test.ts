/** Registered files travel with their paglet, checksummed, and are in place before onArrival. */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { sha256File } from "../../host/storage/files/checksum.ts";
import { entries, startMobileHost } from "./helpers.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("registered files arrive before onArrival with the right content; move deletes the source only after success", async () => {
  const outside = await Deno.makeTempDir({ prefix: "paglets-outside-" });
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    const data = await a.client.send(id, {
      kind: "writeFile",
      args: { name: "data.bin", size: 3 * 1024 * 1024 + 17 },
    }) as { path: string; sha256: string };
    const notes = await a.client.send(id, {
      kind: "writeFile",
      args: { name: "notes/readme.txt", text: "hello from alpha" },
    }) as { sha256: string };
    const movePath = `${outside}/outside.bin`;
    const moved = await a.client.send(id, {
      kind: "writeFile",
      args: { name: "outside.bin", path: movePath, size: 5000, mode: "move" },
    }) as { sha256: string };

    // A failure after the preflight: the file changed behind the registration's back (same size
    // and mtime, so the stale checksum travels) and the target refuses it. Nothing moves.
    const stat = await Deno.stat(data.path);
    const tampered = await Deno.readFile(data.path);
    tampered[0] ^= 0xff;
    await Deno.writeFile(data.path, tampered);
    await Deno.utime(data.path, stat.atime!, stat.mtime!);
    await assertRejectsCode(() => a.client.dispatch(id, b.url), "checksum_mismatch");
    assert(await exists(movePath), "a move file stays when the dispatch fails");
    assertEquals((await a.client.getAgent(id)).status, "active");
    assertEquals(await entries(`${b.dataDir}/transfers`), []);
    tampered[0] ^= 0xff;
    await Deno.writeFile(data.path, tampered);

    await a.client.dispatch(id, b.url);
    const state = await eventually("arrival on beta", async () => {
      const s = await b.client.send(id, { kind: "get" }) as {
        events: string[];
        filesAtArrival: Record<string, string>;
      };
      return s.events.includes("run:beta") ? s : null;
    });
    assertEquals(state!.filesAtArrival, {
      "data.bin": data.sha256,
      "notes/readme.txt": notes.sha256,
      "outside.bin": moved.sha256,
    });
    const there = await b.client.send(id, { kind: "filePath", args: { name: "notes/readme.txt" } }) as {
      path: string;
    };
    assert(there.path.startsWith(`${b.dataDir}/work/`), there.path);
    assertEquals(await Deno.readTextFile(there.path), "hello from alpha");
    assert(!(await exists(movePath)), "a move file is deleted after the dispatch succeeded");
    assert(!(await exists(data.path)), "the source work dir is gone");

    // A clone always copies, even files registered with mode move; it goes on to a third place.
    const clone = await b.client.clone(id, a.url);
    const cloneState = await eventually("clone on alpha", async () => {
      const s = await a.client.send(clone.id, { kind: "get" }) as {
        events: string[];
        filesAtArrival: Record<string, string>;
      };
      return s.events.at(-1) === "run:alpha" && s.events.includes("clone:alpha:clone") ? s : null;
    });
    assertEquals(Object.keys(cloneState!.filesAtArrival).sort(), [
      "data.bin",
      "notes/readme.txt",
      "outside.bin",
    ]);
    const original = await b.client.send(id, { kind: "filePath", args: { name: "outside.bin" } }) as {
      path: string;
    };
    assertEquals((await sha256File(original.path)).sha256, moved.sha256);
  } finally {
    await stopAll();
    await Deno.remove(outside, { recursive: true }).catch(() => {});
  }
});

Deno.test("a sleeping paglet keeps its registered files across a host restart; scratch left by gone agents is removed", async () => {
  try {
    let host = await startMobileHost("keeper");
    const dataDir = host.dataDir;
    const { id } = await host.client.createAgent({ type: "test.traveller" });
    const kept = await host.client.send(id, {
      kind: "writeFile",
      args: { name: "kept.bin", size: 200_000 },
    }) as { path: string; sha256: string };
    await host.client.deactivate(id);
    // What a crash between a departure and its clean-up would leave behind.
    await Deno.mkdir(`${dataDir}/work/gone-agent/sub`, { recursive: true });
    await Deno.writeTextFile(`${dataDir}/work/gone-agent/sub/left.txt`, "orphan");
    await Deno.writeTextFile(`${dataDir}/work/stray-file`, "orphan");

    await host.kill();
    host = await startMobileHost("keeper", { dataDir });
    assertEquals(await entries(`${dataDir}/work`), [id], "only the directory of an agent the host has");
    await host.client.activate(id);
    const { path } = await host.client.send(id, { kind: "filePath", args: { name: "kept.bin" } }) as {
      path: string;
    };
    assertEquals(path, kept.path);
    assertEquals((await sha256File(path)).sha256, kept.sha256);

    await host.client.dispose(id);
    await eventually(
      "disposing removes a directory kept across the restart",
      async () => (await entries(`${dataDir}/work`)).length === 0,
    );
  } finally {
    await stopAll();
  }
});

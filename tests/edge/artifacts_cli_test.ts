/**
 * `paglets artifacts` against a real host: where `get` puts a download (a folder, or a path ending
 * in `/`) and what it says when it cannot, names as long as a download into a folder can take,
 * `rm` of several ids some of which fail, and an upload streamed with its length, with a progress
 * line on a terminal only.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { HAS_SCRIPT, jsonOf, onTerminal, paglets } from "../helpers/cli.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { tempDir } from "../helpers/temp.ts";

/** Uploads `bytes` as `name` with the CLI; the artifact's id. */
async function put(host: HostProcess, dir: string, name: string, bytes: Uint8Array): Promise<string> {
  await Deno.writeFile(`${dir}/${name}`, bytes);
  return jsonOf<{ id: string }>(
    await paglets(["artifacts", "put", `${dir}/${name}`, "--entry", host.url, "--json"]),
  )
    .id;
}

/** The names in `dir` that are left-over `.part` files. */
async function partFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) if (entry.name.endsWith(".part")) names.push(entry.name);
  return names;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("artifacts get puts the artifact into a folder named with a trailing / (made if missing) or an existing one", async () => {
  const dir = await tempDir("paglets-artifacts-get-");
  try {
    const host = await startHost({ name: "artifacts-get" });
    const id = await put(host, dir, "report.txt", new TextEncoder().encode("the report\n"));

    const made = await paglets(["artifacts", "get", id, `${dir}/out/`, "--entry", host.url]);
    assertEquals(made.code, 0, made.stderr);
    assertEquals(await Deno.readTextFile(`${dir}/out/report.txt`), "the report\n");
    assert(made.stdout.startsWith(`${dir}/out/report.txt `), made.stdout);

    await Deno.mkdir(`${dir}/existing`);
    const into = await paglets(["artifacts", "get", id, `${dir}/existing`, "--entry", host.url, "--json"]);
    assertEquals(jsonOf<{ path: string }>(into).path, `${dir}/existing/report.txt`);
    assertEquals(await Deno.readTextFile(`${dir}/existing/report.txt`), "the report\n");

    const renamed = await paglets(["artifacts", "get", id, `${dir}/copy.txt`, "--entry", host.url]);
    assertEquals(renamed.code, 0, renamed.stderr);
    assertEquals(await Deno.readTextFile(`${dir}/copy.txt`), "the report\n");
    assertEquals([...await partFiles(dir), ...await partFiles(`${dir}/out`)], []);
  } finally {
    await stopAll();
  }
});

Deno.test("artifacts get to a destination it cannot write fails invalid_request naming it, and leaves no .part file", async () => {
  const dir = await tempDir("paglets-artifacts-get-bad-");
  try {
    const host = await startHost({ name: "artifacts-get-bad" });
    const id = await put(host, dir, "report.txt", new TextEncoder().encode("the report\n"));

    const noFolder = await paglets(["artifacts", "get", id, `${dir}/missing/sub/x`, "--entry", host.url]);
    assertEquals(noFolder.code, 2, noFolder.stderr);
    assert(noFolder.stderr.startsWith("error [invalid_request]: "), noFolder.stderr);
    assert(noFolder.stderr.includes(`${dir}/missing/sub/x`), noFolder.stderr);
    assertEquals(await exists(`${dir}/missing`), false);

    const fileAsFolder = await paglets(["artifacts", "get", id, `${dir}/report.txt/`, "--entry", host.url]);
    assertEquals(fileAsFolder.code, 2, fileAsFolder.stderr);
    assert(fileAsFolder.stderr.startsWith("error [invalid_request]: "), fileAsFolder.stderr);
    assert(fileAsFolder.stderr.includes(`${dir}/report.txt/`), fileAsFolder.stderr);

    // Found only once the bytes are in: the name inside the folder is taken by a folder.
    await Deno.mkdir(`${dir}/out/report.txt`, { recursive: true });
    const taken = await paglets(["artifacts", "get", id, `${dir}/out/`, "--entry", host.url]);
    assertEquals(taken.code, 2, taken.stderr);
    assert(taken.stderr.startsWith("error [invalid_request]: "), taken.stderr);
    assert(taken.stderr.includes(`${dir}/out/report.txt`), taken.stderr);
    assertEquals([...await partFiles(dir), ...await partFiles(`${dir}/out`)], []);
  } finally {
    await stopAll();
  }
});

Deno.test("a name of up to 240 bytes in UTF-8 downloads into a folder; a longer one is refused at the upload", async () => {
  const dir = await tempDir("paglets-artifacts-names-");
  try {
    const host = await startHost({ name: "artifacts-names" });
    // 240 bytes each: with the download's ".NAME.xxxxxxxx.part" 255, a file name's limit.
    for (const name of ["a".repeat(240), "é".repeat(120), "😀".repeat(60)]) {
      const id = await put(host, dir, name, new TextEncoder().encode(name));
      const got = await paglets(["artifacts", "get", id, `${dir}/out/`, "--entry", host.url]);
      assertEquals(got.code, 0, got.stderr);
      assertEquals(await Deno.readTextFile(`${dir}/out/${name}`), name);
    }
    assertEquals(await partFiles(`${dir}/out`), []);

    await Deno.writeTextFile(`${dir}/x.txt`, "x");
    for (const name of ["a".repeat(241), "é".repeat(121), "é".repeat(200)]) {
      const refused = await paglets([
        "artifacts",
        "put",
        `${dir}/x.txt`,
        "--name",
        name,
        "--entry",
        host.url,
      ]);
      assertEquals(refused.code, 2, refused.stderr);
      assert(refused.stderr.startsWith("error [invalid_request]: Artifact name must be"), refused.stderr);
      assert(refused.stderr.includes("of 1-240 bytes in UTF-8"), refused.stderr);
    }
    assertEquals(
      jsonOf<unknown[]>(await paglets(["artifacts", "list", "--entry", host.url, "--json"])).length,
      3,
    );
  } finally {
    await stopAll();
  }
});

Deno.test("artifacts rm removes every id it can and reports each one it cannot", async () => {
  const dir = await tempDir("paglets-artifacts-rm-");
  try {
    const host = await startHost({ name: "artifacts-rm" });
    const missing = "0".repeat(32);
    const a = await put(host, dir, "a.txt", new TextEncoder().encode("a"));
    const b = await put(host, dir, "b.txt", new TextEncoder().encode("b"));

    const rm = await paglets(["artifacts", "rm", missing, a, b, "--entry", host.url]);
    assertEquals(rm.code, 1, rm.stderr);
    assertEquals(rm.stdout, `${a} deleted\n${b} deleted\n`);
    assertEquals(rm.stderr, `error [artifact_not_found]: No artifact ${missing} on this host\n`);
    assertEquals(jsonOf<unknown[]>(await paglets(["artifacts", "list", "--entry", host.url, "--json"])), []);

    const c = await put(host, dir, "c.txt", new TextEncoder().encode("c"));
    const json = await paglets(["artifacts", "rm", c, missing, "--entry", host.url, "--json"]);
    assertEquals(json.code, 1, json.stderr);
    assertEquals(JSON.parse(json.stdout), [
      { id: c, deleted: true },
      {
        id: missing,
        deleted: false,
        error: { code: "artifact_not_found", message: `No artifact ${missing} on this host` },
      },
    ]);
    assert(json.stderr.includes("error [artifact_not_found]"), json.stderr);

    // A malformed id is a mistake in the command line: nothing is deleted.
    const d = await put(host, dir, "d.txt", new TextEncoder().encode("d"));
    const malformed = await paglets(["artifacts", "rm", d, "nope", "--entry", host.url]);
    assertEquals(malformed.code, 2, malformed.stderr);
    assert(
      malformed.stderr.startsWith("error [bad_request]: Malformed artifact id 'nope'"),
      malformed.stderr,
    );
    assertEquals((await paglets(["artifacts", "info", d, "--entry", host.url])).code, 0);
  } finally {
    await stopAll();
  }
});

/**
 * A TCP relay to `host` that keeps the head of every request passing through: what the CLI put on
 * the wire, seen by a real host behind it. With `stallAfter`, each answer stops reaching the client
 * after that many bytes (the connection stays open, silent): a transfer that stalls.
 */
function recordingRelay(
  host: HostProcess,
  stallAfter = Infinity,
): { url: string; heads: string[]; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const upstreamPort = Number(new URL(host.url).port);
  const heads: string[] = [];
  const relays = new Set<Promise<void>>();
  const relay = async (client: Deno.Conn) => {
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
    let head = "";
    const decoder = new TextDecoder("latin1");
    const tap = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        if (!head.includes("\r\n\r\n")) {
          head += decoder.decode(chunk);
          if (head.includes("\r\n\r\n")) heads.push(head.slice(0, head.indexOf("\r\n\r\n")));
        }
        out.enqueue(chunk);
      },
    });
    let answered = 0;
    const stall = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        const left = stallAfter - answered;
        answered += chunk.length;
        if (left > 0) out.enqueue(chunk.subarray(0, Math.min(chunk.length, left)));
      },
    });
    await Promise.allSettled([
      client.readable.pipeThrough(tap).pipeTo(upstream.writable),
      upstream.readable.pipeThrough(stall).pipeTo(client.writable),
    ]);
    for (const conn of [client, upstream]) {
      try {
        conn.close();
      } catch { /* closed by its stream */ }
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const done = relay(client).catch(() => {});
      relays.add(done);
      void done.finally(() => relays.delete(done));
    }
  })().catch(() => {/* the listener closed */});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    heads,
    async close() {
      listener.close();
      await accepting;
      await Promise.all(relays);
    },
  };
}

Deno.test("artifacts put streams the file with its length, not chunked (which Deno's server decodes slowly)", async () => {
  const dir = await tempDir("paglets-artifacts-put-");
  const host = await startHost({ name: "artifacts-put" });
  const relay = recordingRelay(host);
  try {
    const file = new Uint8Array(3 * 1024 * 1024 + 7);
    for (let i = 0; i < file.length; i++) file[i] = (i * 31) % 251;
    await Deno.writeFile(`${dir}/big.bin`, file);

    const run = await paglets(["artifacts", "put", `${dir}/big.bin`, "--entry", relay.url, "--json"]);
    const up = jsonOf<{ id: string; size: number }>(run);
    assertEquals(up.size, file.length);
    const upload = relay.heads.find((h) => h.startsWith("PUT /v1/artifacts?"));
    assert(upload, relay.heads.join("\n---\n"));
    const fields = upload.toLowerCase().split("\r\n");
    assert(fields.includes(`content-length: ${file.length}`), upload);
    assert(!fields.some((f) => f.startsWith("transfer-encoding:")), upload);

    const got = await paglets(["artifacts", "get", up.id, `${dir}/back.bin`, "--entry", relay.url]);
    assertEquals(got.code, 0, got.stderr);
    assertEquals(await Deno.readFile(`${dir}/back.bin`), file);
  } finally {
    await relay.close();
    await stopAll();
  }
});

const ESC = "\x1b";

Deno.test({
  name: "artifacts put and get show bytes and percent on a terminal, and nothing on a pipe or with --json",
  ignore: !HAS_SCRIPT,
  async fn() {
    const dir = await tempDir("paglets-artifacts-progress-");
    try {
      const host = await startHost({ name: "artifacts-progress" });
      await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(3 * 1024 * 1024));

      const up = await onTerminal(["artifacts", "put", `${dir}/big.bin`, "--entry", host.url]);
      assertEquals(up.code, 0, up.screen);
      assert(
        up.screen.includes(`uploading ${dir}/big.bin 3.0 MiB / 3.0 MiB 100%`),
        JSON.stringify(up.screen),
      );
      // The line is erased before the id is printed.
      const id = /\[K([0-9a-f]{32})\r?\n/.exec(up.screen.replaceAll(ESC, ""))?.[1];
      assert(id, JSON.stringify(up.screen));

      const down = await onTerminal(["artifacts", "get", id, `${dir}/back.bin`, "--entry", host.url]);
      assertEquals(down.code, 0, down.screen);
      assert(down.screen.includes(`downloading ${id} 3.0 MiB / 3.0 MiB 100%`), JSON.stringify(down.screen));

      const json = await onTerminal(["artifacts", "put", `${dir}/big.bin`, "--entry", host.url, "--json"]);
      assertEquals(json.code, 0, json.screen);
      assert(!json.screen.includes("uploading"), JSON.stringify(json.screen));

      const piped = await paglets(["artifacts", "put", `${dir}/big.bin`, "--entry", host.url]);
      assertEquals([piped.code, piped.stderr], [0, ""]);
      const pipedGet = await paglets(["artifacts", "get", id, `${dir}/again.bin`, "--entry", host.url]);
      assertEquals([pipedGet.code, pipedGet.stderr], [0, ""]);
    } finally {
      await stopAll();
    }
  },
});

Deno.test("artifacts get --timeout gives a download up once no byte came for that long, its .part file removed", async () => {
  const dir = await tempDir("paglets-artifacts-stall-");
  const host = await startHost({ name: "artifacts-stall" });
  const relay = recordingRelay(host, 256 * 1024);
  try {
    await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(4 * 1024 * 1024));
    const up = jsonOf<{ id: string }>(
      await paglets(["artifacts", "put", `${dir}/big.bin`, "--entry", host.url, "--json"]),
    );
    await Deno.mkdir(`${dir}/out`);
    const got = await paglets([
      "artifacts",
      "get",
      up.id,
      `${dir}/out/`,
      "--entry",
      relay.url,
      "--timeout",
      "2",
    ]);
    assertEquals(got.code, 1, got.stderr);
    assert(
      got.stderr.includes("error [timeout]") && got.stderr.includes("moved no byte for 2 s"),
      got.stderr,
    );
    assertEquals([...Deno.readDirSync(`${dir}/out`)], []);
  } finally {
    await relay.close().catch(() => {});
    await stopAll();
  }
});

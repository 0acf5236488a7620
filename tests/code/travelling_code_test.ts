/**
 * Code that travels, with real processes: a script run by `paglets run` against host 1 runs its
 * paglets on hosts 2 and 3, which never saw the file; tampered, unauthenticated and refused code;
 * a restarted host wakes an agent from its own code store; an edited script is a new version.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { FAST_MESH, seesAllOnline } from "../mesh/helpers.ts";
import { HostClient } from "../../host/client.ts";
import { sha256Hex } from "../../host/code/hash.ts";
import { tempDir } from "../helpers/temp.ts";

const KEY = "travelling-code-test-key";
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** The fixture script copied into a fresh folder (so a test can edit it). */
async function scriptCopy(): Promise<string> {
  const dir = await tempDir("paglets-script-");
  for (const name of ["tally.ts", "version.ts"]) await Deno.copyFile(join(FIXTURES, name), join(dir, name));
  return join(dir, "tally.ts");
}

async function meshOf3(extra: string[][] = [[], [], []]): Promise<HostProcess[]> {
  const h1 = await startHost({ name: "h1", apiKey: KEY, args: [...FAST_MESH, ...extra[0]] });
  const others = await Promise.all(
    ["h2", "h3"].map((name, i) =>
      startHost({ name, apiKey: KEY, args: [...FAST_MESH, "--peer", h1.url, ...extra[i + 1]] })
    ),
  );
  const hosts = [h1, ...others];
  await until(
    "a mesh of 3",
    async () => (await Promise.all(hosts.map((h) => seesAllOnline(h, ["h1", "h2", "h3"])))).every(Boolean),
  );
  return hosts;
}

interface RunOutput {
  entry: string;
  code: string;
  created: { ref: { id: string; host: string }; reply: { count: number; host: string; version: string } }[];
  spawned: { child: { id: string; host: string }; reply: { count: number; host: string } };
}

async function run(
  script: string,
  entry: HostProcess | string,
  hosts: string[],
  env: Record<string, string> = {},
): Promise<RunOutput> {
  const url = typeof entry === "string" ? entry : entry.url;
  const out = await paglets(["run", script, "--entry", url, "--", ...hosts], {
    PAGLETS_API_KEY: KEY,
    ...env,
  });
  assertEquals(out.code, 0, `paglets run failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").pop()!);
}

Deno.test("a script's paglets run on hosts that never saw the file; a restarted host wakes one from its own store", async () => {
  try {
    const [h1, h2, h3] = await meshOf3();
    const script = await scriptCopy();
    const out = await run(script, h1, ["h2", "h3"]);
    assertEquals(out.created.map((c) => c.reply.host), ["h2", "h3"]);
    assertEquals(out.created.map((c) => c.reply.count), [2, 2]);
    // Created by a paglet on h2, on h3, from its own module.
    assertEquals(out.spawned.reply, { count: 5, host: "h3", version: "v1" } as never);
    for (const host of [h2, h3]) {
      const stored = await Deno.readFile(join(host.dataDir, "code", `${out.code}.js`));
      assertEquals(await sha256Hex(stored), out.code);
    }
    const record = await h2.client.getAgent(out.created[0].ref.id);
    assertEquals(record.code, out.code);

    // A move: h2's agent goes to h3 (h3 has the code already) and back to h1.
    const moved = await h2.client.dispatch(out.created[0].ref.id, h1.url);
    assertEquals(moved.host, h1.url);
    assertEquals(await h1.client.send(moved.id, { kind: "add" }), { count: 3, host: "h1", version: "v1" });

    // The example script: a squarer on every host, one created from inside the mesh, one move.
    const squares = await paglets(
      [
        "run",
        new URL("../../examples/scripts/squares.ts", import.meta.url).pathname,
        "--entry",
        h1.url,
        "--",
        "1",
      ],
      { PAGLETS_API_KEY: KEY },
    );
    assertEquals(squares.code, 0, squares.stderr);
    const said = squares.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(said.slice(0, 3).map((l) => l.host).sort(), ["h1", "h2", "h3"]);
    const last = said[3].host;
    assertEquals(said[4].movedTo, [h1, h2, h3].find((h) => h.name === last)!.url);

    // Compute jobs of the script's own type: placed across the mesh, stepped in compute workers.
    const sums = await paglets(
      [
        "run",
        new URL("../../examples/scripts/sum_jobs.ts", import.meta.url).pathname,
        "--entry",
        h1.url,
        "--",
        "6",
      ],
      { PAGLETS_API_KEY: KEY },
    );
    assertEquals(sums.code, 0, sums.stderr);
    const lines = sums.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const summary = lines.pop();
    assertEquals(lines.map((l) => l.status), Array(6).fill("COMPLETED"));
    for (const name of summary.hosts as string[]) {
      const host = [h1, h2, h3].find((h) => h.name === name)!;
      await Deno.stat(join(host.dataDir, "code", `${summary.code}.js`));
    }

    // h3 alone after a restart: its agent of the script's type wakes from h3's code store.
    const sleeper = out.created[1].ref.id;
    await h3.client.deactivate(sleeper, {});
    await h1.stop();
    await h2.stop();
    await h3.stop();
    const h3again = await startHost({ name: "h3", apiKey: KEY, dataDir: h3.dataDir, args: FAST_MESH });
    assertEquals(await h3again.client.send(sleeper, { kind: "add" }), {
      count: 3,
      host: "h3",
      version: "v1",
    });
  } finally {
    await stopAll();
  }
});

Deno.test("an edited script is a new version; agents created before keep their code", async () => {
  try {
    const [h1, h2] = await meshOf3();
    const script = await scriptCopy();
    const first = await run(script, h1, ["h2"]);
    await Deno.writeTextFile(join(script, "..", "version.ts"), 'export const VERSION = "v2";\n');
    // `--entry NAME` is a host of the mesh (looked up through $PAGLETS_ENTRY).
    const second = await run(script, "h1", ["h2"], { PAGLETS_ENTRY: h2.url });
    assertEquals(second.entry, h1.url);
    assert(first.code !== second.code, "an edit gives a new hash");
    assertEquals(second.created[0].reply.version, "v2");
    const old = first.created[0].ref;
    assertEquals(await h2.client.send(old.id, { kind: "add" }), { count: 3, host: "h2", version: "v1" });
    assertEquals((await h2.client.getAgent(old.id)).code, first.code);
  } finally {
    await stopAll();
  }
});

Deno.test("tampered, unauthenticated and refused code", async () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const liar = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname.startsWith("/huge/")
        // A module past the host's body limit (16 MiB), sent without a length.
        ? new Response(ReadableStream.from((function* () {
          for (let i = 0; i < 300; i++) yield chunk;
        })()))
        : new Response("export const tampered = true;"),
  );
  try {
    const [h1, h2, h3] = await meshOf3([[], [], ["--no-remote-code"]]);
    const script = await scriptCopy();
    const out = await run(script, h1, ["h2"]);

    // Without the key the module is not served.
    const open = new HostClient(h1.url, { apiKey: null });
    await assertRejectsCode(() => open.request("GET", `/v1/code/${out.code}`), "unauthorized");

    // A peer that serves other bytes than the hash names: refused and reported.
    const fake = "0".repeat(64);
    const liarUrl = `http://127.0.0.1:${(liar.addr as Deno.NetAddr).port}`;
    await assertRejectsCode(
      () => h2.client.createAgent({ type: "tests.tally", code: fake, codeFrom: liarUrl }),
      "code_tampered",
    );
    // Fetched from a host's http(s) URL only, and no larger than the host takes a module uploaded.
    for (const codeFrom of ["file:///etc/hostname#", `${liarUrl}/?x=`, `${liarUrl}#`, `${liarUrl}/?`]) {
      await assertRejectsCode(
        () => h2.client.createAgent({ type: "tests.tally", code: fake, codeFrom }),
        "invalid_request",
      );
    }
    const huge = await assertRejectsCode(
      () => h2.client.createAgent({ type: "tests.tally", code: fake, codeFrom: `${liarUrl}/huge` }),
      "code_unavailable",
    );
    assert(huge.message.includes("larger than 16777216 bytes"), huge.message);
    const events = await h2.client.request<{ events: { kind: string }[] }>("GET", "/v1/events?limit=1000");
    assert(events.events.some((e) => e.kind === "code-rejected"), "the rejection is an event");
    // An upload whose bytes do not match the hash it claims.
    const upload = await h1.client.fetch("PUT", "/v1/code", {
      body: "export const x = 1;",
      headers: { "x-sha256": fake },
    }).catch((err) => err);
    assertEquals(upload.code, "code_tampered");
    const malformed = await h1.client.fetch("PUT", "/v1/code", {
      body: "export const x = 1;",
      headers: { "x-sha256": "zz" },
    }).catch((err) => err);
    assertEquals(malformed.code, "bad_request");
    // Uploads that fail their check are no fetches from another host: not counted as such.
    const metrics = await (await h1.client.fetch("GET", "/metrics")).text();
    assert(!/paglets_code_fetches_total\{outcome="rejected"\} [1-9]/.test(metrics), metrics);

    // A host started with --no-remote-code: a create and a dispatch are refused, nothing is lost.
    await assertRejectsCode(
      () => h3.client.createAgent({ type: "tests.tally", code: out.code, codeFrom: h1.url }),
      "remote_code_disabled",
    );
    const agent = out.created[0].ref.id;
    await assertRejectsCode(() => h2.client.dispatch(agent, h3.url), "remote_code_disabled");
    assertEquals(await h2.client.send(agent, { kind: "add" }), { count: 3, host: "h2", version: "v1" });
    const refused = await paglets(["run", script, "--entry", h3.url, "--", "h3"], { PAGLETS_API_KEY: KEY });
    assert(refused.code !== 0 && refused.stderr.includes("remote_code_disabled"), refused.stderr);
  } finally {
    await liar.shutdown();
    await stopAll();
  }
});

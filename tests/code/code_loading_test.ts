/**
 * Travelling code's first use on one host: the module's bytes reach the workers exactly (the data:
 * URL escapes only what a URL cannot carry); the upload answers once one worker has the module,
 * the other loads it in the background, and an agent placed there at once runs it too.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { stopAll } from "../helpers/host_process.ts";
import { startMobileHost } from "../mobility/helpers.ts";

/** Bytes a URL would drop or read as syntax (tabs, newlines, `%`, `#`, `?`, multi-byte UTF-8). */
const TRICKY = "100% #1? a%41b\ttab\nline é ü 日本 🙂 \\x";

/** A ~1 MiB module (so that the background load takes a while) whose paglet reports what it holds. */
function tricky(): Uint8Array {
  const pad = "x".repeat(1 << 20);
  return new TextEncoder().encode(
    `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
      `const TEXT = \`${TRICKY.replace(/\\/g, "\\\\")}\`;\n` +
      `const PAD = "${pad}";\n` +
      `export class Tricky extends Paglet {\n` +
      `  static type = "test.tricky";\n` +
      `  initialState() { return {}; }\n` +
      `  onMessage() { return { text: TEXT, pad: PAD.length }; }\n` +
      `}\n// ends in spaces, which a URL would trim   `,
  );
}

Deno.test("a module's bytes arrive exactly; an agent on the worker that loads it in the background runs it", async () => {
  await using h = await testHost({ workers: 2 });
  const put = await h.client.fetch("PUT", "/v1/code", { body: tricky() as Uint8Array<ArrayBuffer> });
  const { hash, types } = await put.json() as { hash: string; types: string[] };
  assertEquals(types, ["test.tricky"]);
  // The upload answered once one worker had the module; the second agent goes to the other worker
  // (the pool places each on the one with fewer agents), where the load may still be going on.
  const created = await Promise.all(
    [0, 1].map(() => h.client.createAgent({ type: "test.tricky", code: hash })),
  );
  const slots = created.map(({ id }) => h.host.pool.slots.findIndex((s) => s.agents.has(id)));
  assertEquals(new Set(slots).size, 2, `one agent in each worker: ${slots}`);
  for (const { id } of created) {
    assertEquals(await h.client.send(id, { kind: "show" }), { text: TRICKY, pad: 1 << 20 });
  }
  const loaded = h.host.events.since(0, 1000).filter((e) => e.kind === "code-loaded");
  assert(loaded.length === 1, `one code-loaded event: ${loaded.length}`);
});

Deno.test("a worker that needs a module reads it from the code store (the kernel keeps no module's text): a damaged file is set aside, never run", async () => {
  await using h = await testHost({ workers: 2 });
  // Both workers run, one agent each, before the code arrives: the upload loads it into one.
  for (let i = 0; i < 2; i++) await h.client.createAgent({ type: "demo.counter" });
  const source = `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
    `export class Stored extends Paglet {\n` +
    `  static type = "test.stored";\n` +
    `  initialState() { return {}; }\n` +
    `  onMessage() { return self.name; }\n` +
    `}\n`;
  const upload = async () => {
    const put = await h.client.fetch("PUT", "/v1/code", { body: new TextEncoder().encode(source) });
    return (await put.json() as { hash: string }).hash;
  };
  const hash = await upload();
  const first = await h.client.createAgent({ type: "test.stored", code: hash });
  const loadedIn = await h.client.send(first.id, { kind: "where" }) as string;
  // The file changes under the host: the other worker's load reads it, and its hash check refuses
  // it. The host sets it aside and, with no other host to fetch a good copy from, has none.
  const file = `${h.dataDir}/code/${hash}.js`;
  const changed = source.replace("self.name", "'changed'");
  await Deno.writeTextFile(file, changed);
  const err = await h.client.createAgent({ type: "test.stored", code: hash }).then(
    () => null,
    (e: { code: string; message: string }) => e,
  );
  assertEquals(err?.code, "code_unavailable", err?.message);
  assert(err!.message.includes(`set aside as code/${hash}.js.rejected`), err!.message);
  assertEquals(await Deno.readTextFile(`${file}.rejected`), changed);
  const rejected = h.host.events.since(0, 1000).filter((e) => e.kind === "code-rejected");
  assertEquals(rejected.map((e) => e.data), [{ hash, from: "store" }]);
  // The worker that had it still runs its agent.
  assertEquals(await h.client.send(first.id, { kind: "where" }), loadedIn);

  // Nor is a damaged file served to another host: set aside, it is a module this host lacks.
  assertEquals(await upload(), hash);
  await Deno.writeTextFile(file, changed);
  const served = await h.client.fetch("GET", `/v1/code/${hash}`).then((r) => r.status, (e) => e.code);
  assertEquals(served, "code_not_found");
  assertEquals(await Deno.stat(file).then(() => "stored", () => "gone"), "gone");

  // A good copy again: the other worker loads it and runs its agent.
  assertEquals(await upload(), hash);
  const second = await h.client.createAgent({ type: "test.stored", code: hash });
  assert(await h.client.send(second.id, { kind: "where" }) !== loadedIn);
});

Deno.test("code that fails to load in one worker: a start there reports the load's error, not an unknown type", async () => {
  await using h = await testHost({ workers: 2 });
  // Both workers run, one agent each, before the code arrives.
  for (let i = 0; i < 2; i++) await h.client.createAgent({ type: "demo.counter" });
  assertEquals(h.host.pool.slots.map((s) => s.agents.size), [1, 1]);
  const source = `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
    `if (self.name === "paglets-agent-worker-1") throw new Error("refused in the second worker");\n` +
    `export class Picky extends Paglet {\n` +
    `  static type = "test.picky";\n` +
    `  initialState() { return {}; }\n` +
    `  onMessage() { return self.name; }\n` +
    `}\n`;
  // The first worker loads it for the upload's answer; the second fails to, in the background.
  const put = await h.client.fetch("PUT", "/v1/code", { body: new TextEncoder().encode(source) });
  const { hash, types } = await put.json() as { hash: string; types: string[] };
  assertEquals(types, ["test.picky"]);
  // The pool places each agent on the worker with fewer agents: the first in the first worker, the
  // next ones in the second, whose background load failed: each start there loads the code again.
  const first = await h.client.createAgent({ type: "test.picky", code: hash });
  assertEquals(await h.client.send(first.id, { kind: "where" }), "paglets-agent-worker-0");
  for (let i = 0; i < 2; i++) {
    const err = await h.client.createAgent({ type: "test.picky", code: hash }).then(
      () => null,
      (e: { code: string; message: string }) => e,
    );
    assertEquals(err?.code, "module_load_failed", err?.message);
    assert(err!.message.includes("refused in the second worker"), err!.message);
  }
});

Deno.test("a module whose top level fails in a replacement worker fails its own agents' restore only; the others and new agents run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-code-replaced-" });
  try {
    const host = await startMobileHost("alpha"); // one worker: every agent below shares it
    const client = host.client;
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(config, '{"greeting":"hi"}');
    // A top level that depends on the machine: it loads now, and fails in any worker started later.
    const source = `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
      `const CONFIG = JSON.parse(Deno.readTextFileSync(${JSON.stringify(config)}));\n` +
      `export class Configured extends Paglet {\n` +
      `  static type = "test.configured";\n` +
      `  initialState() { return {}; }\n` +
      `  onMessage() { return CONFIG.greeting; }\n` +
      `}\n`;
    const put = await client.fetch("PUT", "/v1/code", { body: new TextEncoder().encode(source) });
    const { hash } = await put.json() as { hash: string };
    const configured = await client.createAgent({ type: "test.configured", code: hash });
    assertEquals(await client.send(configured.id, { kind: "greet" }), "hi");
    const counter = await client.createAgent({ type: "demo.counter", state: { count: 1 } });
    await Deno.remove(config);

    // A stuck agent: disposing it replaces the worker, and its other agents come back in the new one.
    const busy = (await client.createAgent({ type: "demo.busy" })).id;
    await client.send(busy, { kind: "burn", args: { ms: 60_000 } }, { oneway: true });
    await eventually(
      "the burn to start",
      async () => (await client.getAgent(busy) as { mailbox?: { busy: boolean } }).mailbox?.busy === true,
    );
    await client.dispose(busy);
    const { events } = await client.events(0, 1000);
    const replaced = events.find((e) => e.kind === "worker-replaced");
    assertEquals(
      (replaced?.data as { replacement?: string }).replacement,
      undefined,
      "the new worker started",
    );
    assertEquals(await client.send(counter.id, { kind: "increment", args: { by: 2 } }), { count: 3 });
    const fresh = await client.createAgent({ type: "demo.counter" });
    assertEquals(await client.send(fresh.id, { kind: "increment", args: { by: 1 } }), { count: 1 });
    const record = await client.getAgent(configured.id);
    assertEquals(record.status, "crashed");
    assert(JSON.stringify(record).includes("config.json"), JSON.stringify(record));
  } finally {
    await stopAll();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a worker left without agents after loading scripts' modules is ended; their paglets start again in a new one", async () => {
  try {
    const host = await startMobileHost("alpha", { env: { PAGLETS_WORKER_IDLE_MS: "400" } });
    const client = host.client;
    const source = `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
      `export class Versioned extends Paglet {\n` +
      `  static type = "test.versioned";\n` +
      `  initialState() { return { n: 0 }; }\n` +
      `  onMessage() { return ++this.state.n; }\n` +
      `}\n`;
    const put = await client.fetch("PUT", "/v1/code", { body: new TextEncoder().encode(source) });
    const { hash } = await put.json() as { hash: string };
    const { id } = await client.createAgent({ type: "test.versioned", code: hash });
    assertEquals(await client.send(id, { kind: "count" }), 1);
    // Its one agent asleep, the worker holds nobody but the module (which V8 never frees).
    await client.deactivate(id, { activateOnMessage: true });
    const retired = await eventually("the idle worker to be ended", async () => {
      const { events } = await client.events(0, 1000);
      return events.find((e) => e.kind === "worker-retired");
    });
    assertEquals((retired.data as { modules: number }).modules, 1);
    assertEquals((await client.request<{ workers: unknown[] }>("GET", "/v1/host")).workers, []);
    // A message wakes the paglet in a new worker, which loads its module for it.
    assertEquals(await client.send(id, { kind: "count" }), 2);
    const counter = await client.createAgent({ type: "demo.counter" });
    assertEquals(await client.send(counter.id, { kind: "increment", args: { by: 1 } }), { count: 1 });
  } finally {
    await stopAll();
  }
});

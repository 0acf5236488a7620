/**
 * The code store keeps what agents use and lets the rest go (host/code/code_sweep.ts): at every
 * start (and periodically) a module that no agent of the host names and that nothing stored or
 * used within `codeRetentionS` is deleted, with a `code-pruned` event; a module an agent names
 * stays however old, as does one used within the retention; upload leftovers of a crash go after
 * an hour. A deleted module uploaded again runs again.
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { eventually, type TestHost, testHost } from "../helpers/in_process.ts";
import { resolveOptions } from "../../host/options.ts";
import { sha256Hex } from "../../host/code/hash.ts";

function module(type: string): Uint8Array<ArrayBuffer> {
  const name = type.replace(/\W/g, "_");
  return new TextEncoder().encode(
    `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
      `export class ${name} extends Paglet {\n` +
      `  static type = "${type}";\n` +
      `  initialState() { return { n: 0 }; }\n` +
      `  onMessage() { return ++this.state.n; }\n` +
      `}\n`,
  );
}

async function upload(h: TestHost, type: string): Promise<string> {
  const put = await h.client.fetch("PUT", "/v1/code", { body: module(type) });
  assertEquals(put.status, 201);
  return ((await put.json()) as { hash: string }).hash;
}

async function stored(h: TestHost): Promise<string[]> {
  const { modules } = await (await h.client.fetch("GET", "/v1/code")).json() as { modules: string[] };
  return modules;
}

const HOURS_AGO = (hours: number) => new Date(Date.now() - hours * 3_600_000);

Deno.test("a start deletes stored modules no agent names and nothing used for the retention, and keeps the rest", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-code-retention-" });
  const code = `${dataDir}/code`;
  try {
    let named: string, unnamed: string, fresh: string, id: string;
    {
      await using h = await testHost({ dataDir, codeRetentionS: 600 });
      named = await upload(h, "test.named");
      unnamed = await upload(h, "test.unnamed");
      fresh = await upload(h, "test.fresh");
      ({ id } = await h.client.createAgent({ type: "test.named", code: named }));
      assertEquals(await h.client.send(id, { kind: "count" }), 1);
      assertEquals((await stored(h)).sort(), [named, unnamed, fresh].sort());
    }
    // Two hours pass for two of the modules (their files' times are their last use), and a crash
    // left two half-written uploads, one of them two hours ago.
    for (const hash of [named, unnamed]) await Deno.utime(`${code}/${hash}.js`, HOURS_AGO(2), HOURS_AGO(2));
    const oldPart = `${unnamed}.js.${crypto.randomUUID()}.part`;
    const newPart = `${fresh}.js.${crypto.randomUUID()}.part`;
    for (const part of [oldPart, newPart]) await Deno.writeTextFile(`${code}/${part}`, "half");
    await Deno.utime(`${code}/${oldPart}`, HOURS_AGO(2), HOURS_AGO(2));

    await using h = await testHost({ dataDir, codeRetentionS: 600 });
    const pruned = await eventually(
      "the start's sweep",
      () => h.host.events.since(0, 1000).find((e) => e.kind === "code-pruned"),
    );
    assertEquals(pruned.data, { hashes: [unnamed], retentionS: 600 });
    assertEquals((await stored(h)).sort(), [named, fresh].sort(), "the named and the fresh module stay");
    assertEquals(await h.client.send(id, { kind: "count" }), 2, "the agent runs on, back from its record");
    const parts: string[] = [];
    for await (const entry of Deno.readDir(code)) if (entry.name.endsWith(".part")) parts.push(entry.name);
    assertEquals(parts, [newPart], "a crash's leftover goes after an hour");
    // The agent's restore used its module: its file's time says so, for the next start.
    assert((await Deno.stat(`${code}/${named}.js`)).mtime!.getTime() > HOURS_AGO(1).getTime());

    // Gone means gone, also from the workers that had loaded it: a create that names it with no
    // host to fetch it from is refused, and the module uploaded again runs again.
    await assertRejectsCode(
      () => h.client.createAgent({ type: "test.unnamed", code: unnamed }),
      "code_unavailable",
    );
    assertEquals(await upload(h, "test.unnamed"), unnamed);
    const again = await h.client.createAgent({ type: "test.unnamed", code: unnamed });
    assertEquals(await h.client.send(again.id, { kind: "count" }), 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a module used within the retention stays, named by no agent; a retention under ten minutes is refused", async () => {
  await using h = await testHost({ codeRetentionS: 600 });
  const hash = await upload(h, "test.passing");
  const { id } = await h.client.createAgent({ type: "test.passing", code: hash });
  await h.client.dispose(id);
  // Its file says two hours, but this host used it a moment ago.
  await Deno.utime(`${h.dataDir}/code/${hash}.js`, HOURS_AGO(2), HOURS_AGO(2));
  assertEquals(await h.host.code.prune(await h.host.store.codeHashes(), 600_000), []);
  assertEquals(await stored(h), [hash]);
  await assertRejectsCode(
    () => Promise.resolve().then(() => resolveOptions({ codeRetentionS: 599 })),
    "invalid_request",
  );
});

Deno.test("a module that fails to load here is kept while an agent names it, and deleted by the next sweep once none does", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-code-retention-failed-" });
  const flag = `${dataDir}/flag`;
  const source = (type: string, top: string) =>
    new TextEncoder().encode(top + new TextDecoder().decode(module(type)));
  try {
    let broken: string, picky: string, id: string;
    {
      await using h = await testHost({ dataDir, codeRetentionS: 600 });
      // Its top level throws: the upload fails, and nothing here can run it.
      const body = source("test.broken", `throw new Error("broken at load");\n`);
      const put = await h.client.fetch("PUT", "/v1/code", { body }).catch((err) => err);
      assertEquals(put.code, "module_load_failed");
      broken = await sha256Hex(body);
      // Its top level reads a file, there for now: an agent of it runs.
      await Deno.writeTextFile(flag, "here");
      const put2 = await h.client.fetch("PUT", "/v1/code", {
        body: source("test.picky", `Deno.readTextFileSync(${JSON.stringify(flag)});\n`),
      });
      picky = ((await put2.json()) as { hash: string }).hash;
      ({ id } = await h.client.createAgent({ type: "test.picky", code: picky }));
      assertEquals(await h.client.send(id, { kind: "count" }), 1);
    }
    // The file goes: the agent's restore at the next start fails to load its module.
    await Deno.remove(flag);

    await using h = await testHost({ dataDir, codeRetentionS: 600 });
    const pruned = await eventually(
      "the start's sweep",
      () => h.host.events.since(0, 1000).find((e) => e.kind === "code-pruned"),
    );
    assertEquals(pruned.data, { hashes: [broken], retentionS: 600 }, "the broken module goes at once");
    // The agent waits for a start that can load it (it is not crashed).
    assert(h.host.events.since(0, 1000).some((e) => e.kind === "restore-waiting" && e.agentId === id));
    assertEquals((await h.client.getAgent(id)).status, "inactive");
    assertEquals(await stored(h), [picky], "an agent names the module that failed: it stays");
    assertEquals(await h.host.code.prune(await h.host.store.codeHashes(), 600_000), []);
    // No agent names it any more: the next sweep deletes it, used a moment ago or not.
    await h.client.dispose(id);
    assertEquals(await h.host.code.prune(await h.host.store.codeHashes(), 600_000), [picky]);
    assertEquals(await stored(h), []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

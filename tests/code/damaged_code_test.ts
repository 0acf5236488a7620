/**
 * A module file of the code store that no longer matches its hash (a damaged disk, an edit by hand)
 * is never run: the host sets it aside (`code/<hash>.js.rejected`, with a `code-rejected` event),
 * fetches a good copy from its mesh, and an agent restored from it comes back with its state; with
 * no host to fetch it from, the agent waits as a restore whose module is missing does, and is back
 * once a good copy comes (here: uploaded again).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually, type TestHost, testHost } from "../helpers/in_process.ts";
import type { ContextEvent } from "../../agents/context.ts";

const TYPE = "tests.damaged-counter";

const MODULE = new TextEncoder().encode(
  `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
    `export class Counter extends Paglet {\n` +
    `  static type = "${TYPE}";\n` +
    `  initialState() { return { n: 0 }; }\n` +
    `  onMessage() { return ++this.state.n; }\n` +
    `}\n`,
);

/** The module's file changed on disk: run, it would leave `marker` behind. */
function damaged(marker: string): Uint8Array {
  return new TextEncoder().encode(
    `Deno.writeTextFileSync(${JSON.stringify(marker)}, "ran");\n` + new TextDecoder().decode(MODULE),
  );
}

async function upload(h: TestHost): Promise<string> {
  const put = await h.client.fetch("PUT", "/v1/code", { body: MODULE });
  assertEquals(put.status, 201);
  return ((await put.json()) as { hash: string }).hash;
}

function eventsOf(h: TestHost, kind: string): ContextEvent[] {
  return h.host.events.since(0, 2000).filter((e) => e.kind === kind);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * An agent of the module on a host named `runner` of `dataDir`, counted to 2, and the host stopped;
 * the module uploaded there, or fetched from `codeFrom`, a host of its mesh.
 */
async function counted(dataDir: string, codeFrom?: string): Promise<{ hash: string; id: string }> {
  await using h = await testHost({ name: "runner", dataDir, peers: codeFrom ? [codeFrom] : [] });
  const hash = codeFrom ? await fetchHash(codeFrom) : await upload(h);
  const { id } = await h.client.createAgent({ type: TYPE, code: hash, codeFrom });
  for (const n of [1, 2]) assertEquals(await h.client.send(id, { kind: "count" }), n);
  return { hash, id };
}

async function fetchHash(url: string): Promise<string> {
  const { modules } = await (await fetch(`${url}/v1/code`)).json() as { modules: string[] };
  return modules[0];
}

Deno.test("a restore whose module file is damaged never runs it: it waits, and is back with its state once a good copy is uploaded", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-damaged-code-" });
  const marker = join(dataDir, "damaged-module-ran");
  try {
    // Stopped gracefully: the agent sleeps with activateOnStartup, and the next start activates it.
    const { hash, id } = await counted(dataDir);
    const file = join(dataDir, "code", `${hash}.js`);
    await Deno.writeFile(file, damaged(marker));

    await using h = await testHost({ name: "runner", dataDir });
    // The start's restore is over before the host answers: asleep and waiting, not crashed.
    const asleep = await h.client.getAgent(id);
    const policy = asleep.policy as { activateOnStartup?: boolean } | null;
    assertEquals([asleep.status, policy?.activateOnStartup, asleep.state], ["inactive", true, { n: 2 }]);
    const [waiting] = eventsOf(h, "restore-waiting").filter((e) => e.agentId === id);
    assert(String(waiting?.error).includes("set aside"), String(waiting?.error));
    assertEquals((waiting.data as { failures?: number }).failures, 1, "it is tried again");
    const [rejected] = eventsOf(h, "code-rejected");
    assertEquals(rejected?.data, { hash, from: "store" });
    // Set aside for a look at it, out of the store; never run.
    assertEquals(await Deno.readFile(`${file}.rejected`), damaged(marker));
    assertEquals(await exists(file), false);
    assertEquals(await exists(marker), false, "the damaged module never ran");

    // A good copy uploaded again: the waiting restore is tried at once, from it.
    assertEquals(await upload(h), hash);
    await eventually("the agent restored", async () => (await h.client.getAgent(id)).status === "active");
    assertEquals(await h.client.send(id, { kind: "count" }), 3, "with its state");
    assertEquals(eventsOf(h, "restore").filter((e) => e.agentId === id).length, 1);
    assertEquals(await Deno.readFile(file), MODULE);
    assertEquals(await exists(marker), false);

    // The file set aside goes with the sweep once the retention has passed since.
    const referenced = await h.host.store.codeHashes();
    assertEquals(await h.host.code.prune(referenced, 600_000), []);
    assertEquals(await exists(`${file}.rejected`), true);
    const past = new Date(Date.now() - 3_600_000);
    await Deno.utime(`${file}.rejected`, past, past);
    assertEquals(await h.host.code.prune(referenced, 600_000), []);
    assertEquals(await exists(`${file}.rejected`), false);
    assertEquals(await exists(file), true, "the good copy stays");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a restore whose module file is damaged gets a good copy from a host of its mesh", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-damaged-code-mesh-" });
  const marker = join(dataDir, "damaged-module-ran");
  const mesh = { gossipIntervalMs: 200, offlineAfterMs: 1500 };
  try {
    await using keeper = await testHost({ name: "keeper", ...mesh });
    await upload(keeper);
    const { hash, id } = await counted(dataDir, keeper.host.url);
    const file = join(dataDir, "code", `${hash}.js`);
    await Deno.writeFile(file, damaged(marker));

    await using h = await testHost({ name: "runner", dataDir, peers: [keeper.host.url], ...mesh });
    const settled = await eventually("the agent restored (or crashed)", async () => {
      const { status } = await h.client.getAgent(id);
      return status === "active" || status === "crashed" ? status : null;
    });
    assertEquals(settled, "active");
    assertEquals(await h.client.send(id, { kind: "count" }), 3, "with its state");
    assertEquals(eventsOf(h, "paglet-crashed"), []);
    const loaded = eventsOf(h, "code-loaded").find((e) => (e.data as { hash?: string }).hash === hash);
    assertEquals((loaded?.data as { from?: string }).from, keeper.host.url);
    assertEquals(await Deno.readFile(file), MODULE, "a good copy in the store");
    assertEquals(await Deno.readFile(`${file}.rejected`), damaged(marker));
    assertEquals(await exists(marker), false, "the damaged module never ran");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

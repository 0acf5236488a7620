/**
 * An arrival whose module left the target's code store between the transfer (which checked and
 * stored it) and the start, with real processes: the target stops right after it stored the
 * arrival (`PAGLETS_FAULT=exit-after-store`) and its `code/` file goes before it starts again. The
 * arrival is not crashed: it fetches the module again from the host it came from and starts with
 * its `onArrival`; with no host to fetch it from, it waits as a restore does and is back with its
 * state once a host that has the module is reachable. And an agent that comes again and again reads
 * its module from the store only when the file changed since the host last checked it.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { freePort, type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH } from "../mesh/helpers.ts";
import { startMobileHost } from "../mobility/helpers.ts";

const KEY = "arrival-code-test-key";
const TYPE = "tests.arrival-counter";

/** Counts, and notes its lifecycle hooks as `<kind>:<host>[:<reason>]`. */
const MODULE = new TextEncoder().encode(
  `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
    `export class Counter extends Paglet {\n` +
    `  static type = "${TYPE}";\n` +
    `  initialState() { return { n: 0, events: [] }; }\n` +
    `  #note(e) { this.state.events.push(e.kind + ":" + this.host.name + (e.reason ? ":" + e.reason : "")); }\n` +
    `  onCreation(e) { this.#note(e); }\n` +
    `  onArrival(e) { this.#note(e); }\n` +
    `  onActivation(e) { this.#note(e); }\n` +
    `  onMessage(m) { return m.kind === "get" ? this.state : ++this.state.n; }\n` +
    `}\n`,
);

interface CounterState {
  n: number;
  events: string[];
}

/** The module, padded to about `bytes` (a script's bundle may be megabytes). */
function paddedModule(bytes: number): Uint8Array<ArrayBuffer> {
  const pad = new TextEncoder().encode(`export const PAD = "${"x".repeat(bytes)}";\n`);
  const module = new Uint8Array(MODULE.length + pad.length);
  module.set(MODULE);
  module.set(pad, MODULE.length);
  return module;
}

/** Bytes the host's process read so far (files, sockets, pipes: Linux's `rchar`). */
async function bytesRead(host: HostProcess): Promise<number> {
  const io = await Deno.readTextFile(`/proc/${host.process.pid}/io`);
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}

/** An agent of the module on `source`, counted to 1, dispatched to `target`, which stops having stored it. */
async function storedThenStopped(
  source: HostProcess,
  target: HostProcess,
): Promise<{ hash: string; id: string }> {
  const put = await source.client.fetch("PUT", "/v1/code", { body: MODULE });
  assertEquals(put.status, 201);
  const { hash } = await put.json() as { hash: string };
  const { id } = await source.client.createAgent({ type: TYPE, code: hash });
  assertEquals(await source.client.send(id, { kind: "count" }), 1);
  await assertRejectsCode(() => source.client.dispatch(id, target.url), "transfer_pending");
  await target.process.status; // the fault ended it
  return { hash, id };
}

/** The agent's status on `host` once it started or crashed there. */
function settled(host: HostProcess, id: string): Promise<Record<string, unknown>> {
  return eventually(`agent ${id} to start or crash on ${host.name}`, async () => {
    const agent = await host.client.getAgent(id);
    return agent.status === "active" || agent.status === "crashed" ? agent : null;
  }, 20_000);
}

/** The host's events of `kind` about agent `id`. */
async function eventsOf(host: HostProcess, kind: string, id: string): Promise<Record<string, unknown>[]> {
  const { events } = await host.client.events(0, 2000);
  return events.filter((e) => e.kind === kind && e.agentId === id);
}

Deno.test("an arrival whose module left the target's code store before it started fetches it again from its source, and starts", async () => {
  try {
    // Keyless, and no mesh: the source is the one host the target can ask.
    const port = freePort();
    const alpha = await startHost({ name: "alpha" });
    let beta = await startHost({ name: "beta", port, env: { PAGLETS_FAULT: "exit-after-store" } });
    const { hash, id } = await storedThenStopped(alpha, beta);
    const file = join(beta.dataDir, "code", `${hash}.js`);
    await Deno.remove(file);

    beta = await startHost({ name: "beta", port, dataDir: beta.dataDir });
    const agent = await settled(beta, id);
    assertEquals(agent.status, "active", JSON.stringify(agent));
    const state = await beta.client.send(id, { kind: "get" }) as CounterState;
    assertEquals(
      state,
      { n: 1, events: ["creation:alpha", "arrival:beta:dispatch"] },
      "started by its arrival",
    );
    assertEquals(await beta.client.send(id, { kind: "count" }), 2);
    const loaded = (await beta.client.events(0, 2000)).events.filter((e) => e.kind === "code-loaded");
    assertEquals(loaded.map((e) => (e.data as { from?: string }).from), [alpha.url]);
    assertEquals(await Deno.readFile(file), MODULE, "stored again");
  } finally {
    await stopAll();
  }
});

Deno.test("an arrival whose module no reachable host has waits as a restore does, and is back with its state once its source is", async () => {
  try {
    const alphaPort = freePort(), betaPort = freePort();
    let alpha = await startHost({ name: "alpha", apiKey: KEY, port: alphaPort, args: FAST_MESH });
    const betaArgs = [...FAST_MESH, "--peer", alpha.url];
    let beta = await startHost({
      name: "beta",
      apiKey: KEY,
      port: betaPort,
      args: betaArgs,
      env: { PAGLETS_FAULT: "exit-after-store" },
    });
    const { hash, id } = await storedThenStopped(alpha, beta);
    await alpha.stop();
    await Deno.remove(join(beta.dataDir, "code", `${hash}.js`));

    // Neither its source nor any other host of the mesh can serve the module: the agent sleeps.
    beta = await startHost({
      name: "beta",
      apiKey: KEY,
      port: betaPort,
      dataDir: beta.dataDir,
      args: betaArgs,
    });
    const [waiting] = await eventually(
      "a restore-waiting event",
      () => eventsOf(beta, "restore-waiting", id).then((e) => e.length > 0 && e),
    );
    assert(String(waiting.error).includes(hash), String(waiting.error));
    assertEquals(waiting.type, TYPE);
    const asleep = await beta.client.getAgent(id);
    const policy = asleep.policy as { activateOnStartup?: boolean } | null;
    assertEquals([asleep.status, policy?.activateOnStartup], ["inactive", true]);
    assertEquals((asleep.state as CounterState).n, 1);

    // The source is back: beta, which kept running, fetches the module and brings the agent back.
    alpha = await startHost({
      name: "alpha",
      apiKey: KEY,
      port: alphaPort,
      dataDir: alpha.dataDir,
      args: FAST_MESH,
    });
    const agent = await settled(beta, id);
    assertEquals(agent.status, "active", JSON.stringify(agent));
    assertEquals(await beta.client.send(id, { kind: "count" }), 2, "with its state");
    const state = await beta.client.send(id, { kind: "get" }) as CounterState;
    assertEquals(
      state.events,
      ["creation:alpha", "activation:beta:arrival-waited"],
      "back as an arrival whose start waited",
    );
    assertEquals((await eventsOf(beta, "restore", id)).length, 1);
    // The source settles its side of the handoff: one copy, on beta.
    await eventually("alpha to settle the transfer", async () => {
      const there = await alpha.client.getAgent(id).catch(() => null);
      return there?.movedTo === beta.url;
    }, 20_000);
  } finally {
    await stopAll();
  }
});

Deno.test("a waiting arrival asks its source outside the mesh again at each try, and is back once the source is", async () => {
  try {
    // Keyless, and no mesh: the source is the one host the target can ask, and no mesh news comes.
    const alphaPort = freePort(), betaPort = freePort();
    let alpha = await startHost({ name: "alpha", port: alphaPort });
    let beta = await startHost({ name: "beta", port: betaPort, env: { PAGLETS_FAULT: "exit-after-store" } });
    const { hash, id } = await storedThenStopped(alpha, beta);
    await alpha.stop();
    await Deno.remove(join(beta.dataDir, "code", `${hash}.js`));
    beta = await startHost({ name: "beta", port: betaPort, dataDir: beta.dataDir });
    await eventually(
      "a restore-waiting event",
      async () => (await eventsOf(beta, "restore-waiting", id)).length > 0,
    );

    // The source is back; an upload of another module has beta try its waiting restores now.
    alpha = await startHost({ name: "alpha", port: alphaPort, dataDir: alpha.dataDir });
    const other = new TextDecoder().decode(MODULE).replace(TYPE, `${TYPE}-other`);
    assertEquals(
      (await beta.client.fetch("PUT", "/v1/code", { body: new TextEncoder().encode(other) })).status,
      201,
    );
    const agent = await settled(beta, id);
    assertEquals(agent.status, "active", JSON.stringify(agent));
    assertEquals(await beta.client.send(id, { kind: "count" }), 2, "with its state");
    const loaded = (await beta.client.events(0, 2000)).events.filter((e) =>
      e.kind === "code-loaded" && (e.data as { hash?: string }).hash === hash
    );
    assertEquals(loaded.map((e) => (e.data as { from?: string }).from), [alpha.url]);
  } finally {
    await stopAll();
  }
});

for (const [move, reason] of [["dispatch", "arrival-waited"], ["clone", "clone-waited"]] as const) {
  Deno.test(`an arrival (${move}) whose type the target lost before it started (a restart without its --module) waits for a start that has it`, async () => {
    try {
      const port = freePort();
      const alpha = await startMobileHost("alpha");
      let beta = await startMobileHost("beta", { port, env: { PAGLETS_FAULT: "exit-after-store" } });
      const { id: original } = await alpha.client.createAgent({ type: "test.traveller" });
      await alpha.client.send(original, { kind: "set", args: { count: 7 } });
      await assertRejectsCode(
        () =>
          move === "clone"
            ? alpha.client.clone(original, beta.url)
            : alpha.client.dispatch(original, beta.url),
        "transfer_pending",
      );
      await beta.process.status;

      // Started without the module that defines the type: the arrival sleeps, not crashed.
      beta = await startHost({ name: "beta", port, dataDir: beta.dataDir });
      const id = move === "clone" ? String((await beta.client.listAgents()).agents[0].id) : original;
      await eventually(
        "a restore-waiting event",
        async () => (await eventsOf(beta, "restore-waiting", id)).length > 0,
      );
      const asleep = await beta.client.getAgent(id);
      assertEquals([asleep.status, (asleep.state as { count: number }).count], ["inactive", 7]);
      await beta.stop();

      beta = await startMobileHost("beta", { port, dataDir: beta.dataDir });
      const agent = await settled(beta, id);
      assertEquals(agent.status, "active", JSON.stringify(agent));
      const state = await beta.client.send(id, { kind: "get" }) as { count: number; events: string[] };
      assertEquals(state.count, 7);
      // Its onArrival/onClone never ran: the activation says how it came.
      assertEquals(state.events.filter((e) => e.startsWith("activation")), [`activation:beta:${reason}`]);
    } finally {
      await stopAll();
    }
  });
}

Deno.test({
  name:
    "an agent that arrives again and again does not read its module from the store each time; a file changed meanwhile is caught",
  ignore: Deno.build.os !== "linux",
  async fn() {
    try {
      const [alpha, beta] = [
        await startHost({ name: "alpha", args: ["--workers", "1"] }),
        await startHost({ name: "beta", args: ["--workers", "1"] }),
      ];
      const module = paddedModule(4 << 20);
      const put = await alpha.client.fetch("PUT", "/v1/code", { body: module });
      assertEquals(put.status, 201);
      const { hash } = await put.json() as { hash: string };
      const { id } = await alpha.client.createAgent({ type: TYPE, code: hash });
      // Beta's one worker holds a paglet while the agent is away, so it is not ended as idle: a new
      // worker would read the module from the store to load it.
      await beta.client.createAgent({ type: "demo.counter" });
      const hop = async (from: HostProcess, to: HostProcess) => {
        await from.client.dispatch(id, to.url);
        await eventually(`agent ${id} active on ${to.name}`, async () => {
          const agent = await to.client.getAgent(id).catch(() => null);
          return agent?.status === "active";
        });
      };
      // Beta fetches, checks and stores the module at the first arrival, and marks its first use on
      // the file (its time, which a check looks at).
      for (let round = 0; round < 2; round++) {
        await hop(alpha, beta);
        await hop(beta, alpha);
      }
      const before = await bytesRead(beta);
      for (let round = 0; round < 4; round++) {
        await hop(alpha, beta);
        await hop(beta, alpha);
      }
      const read = await bytesRead(beta) - before;
      assert(
        read < module.length,
        `beta read ${read} bytes for 4 arrivals of a ${module.length}-byte module`,
      );

      // The file changed (the same size): the next arrival reads it, sets it aside, fetches it again.
      const file = join(beta.dataDir, "code", `${hash}.js`);
      const damaged = module.slice();
      damaged[damaged.length - 3] = "y".charCodeAt(0);
      await Deno.writeFile(file, damaged);
      await hop(alpha, beta);
      const { events } = await beta.client.events(0, 2000);
      assertEquals(events.filter((e) => e.kind === "code-rejected").map((e) => e.data), [{
        hash,
        from: "store",
      }]);
      assertEquals(await Deno.readFile(`${file}.rejected`), damaged);
      assertEquals(await Deno.readFile(file), module, "a good copy fetched again");
      assertEquals(await beta.client.send(id, { kind: "count" }), 1);
    } finally {
      await stopAll();
    }
  },
});

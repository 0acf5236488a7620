/**
 * A restore that waits for its travelling code, with real processes: a host whose code store lacks
 * an agent's module (restored from a backup of its database alone) while the host that has the
 * module is down keeps the agent asleep (`restore-waiting`), and brings it back with its state once
 * that host is reachable again, without a restart of its own.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH, seesAllOnline } from "../mesh/helpers.ts";
import { tempDir } from "../helpers/temp.ts";
import { hostRow } from "../helpers/host_db.ts";
import type { HostClient } from "../../host/client.ts";

const KEY = "waiting-code-test-key";

const MODULE = new TextEncoder().encode(
  `const { Paglet } = globalThis[Symbol.for("paglets.sdk")];\n` +
    `export class Counter extends Paglet {\n` +
    `  static type = "tests.waiting-counter";\n` +
    `  initialState() { return { n: 0 }; }\n` +
    `  onMessage() { return ++this.state.n; }\n` +
    `}\n`,
);

/** The host's events of `kind` about agent `id`. */
async function eventsOf(client: HostClient, kind: string, id: string): Promise<Record<string, unknown>[]> {
  const { events } = await client.events(0, 2000);
  return events.filter((e) => e.kind === kind && e.agentId === id);
}

/** The host's count of failed starts it tries again, of `kind` (`wake`, `restore`), from its /metrics. */
async function retrying(client: HostClient, kind: "wake" | "restore"): Promise<number> {
  const series = `paglets_retrying_starts{kind="${kind}"} `;
  const text = await (await client.fetch("GET", "/metrics")).text();
  return Number(text.split("\n").find((line) => line.startsWith(series))?.slice(series.length));
}

/**
 * `runner` runs a counter (counted to 2) of a module only `keeper` had; `sleep` may put it to sleep.
 * Both stop, and the runner starts again from its database alone (a backup of it), without the code
 * store beside it, while the keeper stays down; the keeper comes back at `port` with `keeper.dataDir`.
 */
async function runnerWithoutItsCode(
  sleep: (runner: HostProcess, id: string) => Promise<void> = () => Promise.resolve(),
): Promise<{ port: number; keeper: HostProcess; again: HostProcess; id: string; hash: string }> {
  // `keeper` has the module; it comes back at the same address after its stop.
  const port = freePort();
  const keeper = await startHost({ name: "keeper", apiKey: KEY, port, args: FAST_MESH });
  const runner = await startHost({
    name: "runner",
    apiKey: KEY,
    args: [...FAST_MESH, "--peer", keeper.url],
  });
  const put = await keeper.client.fetch("PUT", "/v1/code", { body: MODULE });
  assertEquals(put.status, 201);
  const { hash } = await put.json() as { hash: string };
  const { id } = await runner.client.createAgent({
    type: "tests.waiting-counter",
    code: hash,
    codeFrom: keeper.url,
  });
  assertEquals(await runner.client.send(id, { kind: "count" }), 1);
  assertEquals(await runner.client.send(id, { kind: "count" }), 2);
  await sleep(runner, id);
  await runner.stop();
  await keeper.stop();

  const restored = await tempDir("paglets-test-runner-restored-");
  for (const file of ["host.sqlite", "host.sqlite-wal"]) {
    await Deno.copyFile(join(runner.dataDir, file), join(restored, file)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
  const again = await startHost({
    name: "runner",
    apiKey: KEY,
    dataDir: restored,
    args: [...FAST_MESH, "--peer", keeper.url],
  });
  return { port, keeper, again, id, hash };
}

/** The keeper of {@link runnerWithoutItsCode} back at its address. */
function keeperBack(port: number, keeper: HostProcess): Promise<HostProcess> {
  return startHost({ name: "keeper", apiKey: KEY, port, dataDir: keeper.dataDir, args: FAST_MESH });
}

Deno.test("an agent whose code no reachable host has waits, and is back with its state once a host that has it is", async () => {
  try {
    const { port, keeper, again, id, hash } = await runnerWithoutItsCode();
    // The start's restore is over before the host answers: the agent sleeps, not crashed.
    const asleep = await again.client.getAgent(id);
    const policy = asleep.policy as { activateOnStartup?: boolean } | null;
    assertEquals([asleep.status, policy?.activateOnStartup, asleep.state], ["inactive", true, { n: 2 }]);
    const [waiting] = await eventsOf(again.client, "restore-waiting", id);
    assertEquals(waiting?.type, "tests.waiting-counter");
    assert(String(waiting.error).includes(hash), String(waiting.error));
    assertEquals((waiting.data as { failures?: number }).failures, 1, "it is tried again");

    // The keeper is back: the runner, which kept running, fetches the module and restores the agent.
    const back = await keeperBack(port, keeper);
    await eventually(
      "the agent restored",
      async () => (await again.client.getAgent(id)).status === "active",
      20_000,
    );
    assertEquals(await again.client.send(id, { kind: "count" }), 3, "with its state");
    assertEquals((await eventsOf(again.client, "restore", id)).length, 1, "a restore event says it");
    const loaded = (await again.client.events(0, 2000)).events.find((e) => e.kind === "code-loaded");
    assertEquals((loaded?.data as { hash?: string; from?: string }).from, back.url);
    assertEquals(
      await Deno.readFile(join(again.dataDir, "code", `${hash}.js`)),
      MODULE,
      "stored for its next start",
    );
  } finally {
    await stopAll();
  }
});

Deno.test("a paglet disposed while its restore waits for its code leaves no try behind", async () => {
  try {
    const { again, id } = await runnerWithoutItsCode();
    assertEquals(await retrying(again.client, "restore"), 1, "its restore waits");
    await again.client.dispose(id);
    assertEquals(await retrying(again.client, "restore"), 0, "the host keeps nothing of it");
  } finally {
    await stopAll();
  }
});

Deno.test("a timed wake-up that failed for want of its code is tried again as soon as a host that has it is back, not a minute later", async () => {
  try {
    const { port, keeper, again, id } = await runnerWithoutItsCode(async (runner, id) => {
      // Due while the runner is down: its start finds it due at once.
      await runner.client.deactivate(id, { activateAt: Date.now() + 500, activateOnMessage: false });
    });
    const [failed] = await eventually("a failed wake-up", async () => {
      const found = await eventsOf(again.client, "wake-failed", id);
      return found.length > 0 && found;
    }, 20_000);
    const data = failed.data as { retryAt: number; failures: number; early: boolean };
    assert(String(failed.error).includes("is not on this host"), String(failed.error));
    assertEquals([data.failures, data.early], [1, true]);
    assertEquals((await again.client.getAgent(id)).status, "inactive");

    // The keeper is back well within the minute the timed try waits: the wake-up is tried early.
    await keeperBack(port, keeper);
    await eventually(
      "the agent awake",
      async () => (await again.client.getAgent(id)).status === "active",
      20_000,
    );
    assert(Date.now() < data.retryAt, "before its timed try");
    assertEquals(await again.client.send(id, { kind: "count" }), 3, "with its state");
    const woken = (await again.client.events(0, 2000)).events.filter((e) =>
      e.kind === "activate" && e.agentId === id
    );
    assertEquals(woken.map((e) => (e.data as { reason?: string }).reason), ["timer"]);
  } finally {
    await stopAll();
  }
});

Deno.test("a failed wake-up mended by another way is not made due when a host comes back", async () => {
  try {
    // Two sleepers of the module only the keeper has, due while the runner is down: both wake-ups
    // fail at the runner's start, `stale`'s first.
    let other = "";
    const { port, keeper, again, id: stale } = await runnerWithoutItsCode(async (runner, id) => {
      await runner.client.deactivate(id, { activateAt: Date.now() + 500, activateOnMessage: false });
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", MODULE));
      const hash = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
      other = (await runner.client.createAgent({ type: "tests.waiting-counter", code: hash })).id;
      await runner.client.deactivate(other, { activateAt: Date.now() + 1500, activateOnMessage: false });
    });
    for (const id of [stale, other]) {
      await eventually(
        `${id}'s wake-up failed`,
        async () => (await eventsOf(again.client, "wake-failed", id)).length > 0,
        20_000,
      );
    }
    // `stale` is mended by another way: the module comes from a host outside the mesh, the agent is
    // woken by hand and sleeps again, with no wake-up time.
    const third = await startHost({ name: "third" });
    const put = await third.client.fetch("PUT", "/v1/code", { body: MODULE });
    const { hash } = await put.json() as { hash: string };
    await again.client.createAgent({ type: "tests.waiting-counter", code: hash, codeFrom: third.url });
    assertEquals(await retrying(again.client, "wake"), 2);
    await again.client.activate(stale);
    assertEquals(await retrying(again.client, "wake"), 1, "started, its failed wake-up is over");
    await again.client.deactivate(stale, { activateOnMessage: true });

    // The keeper is back: `other`'s wake-up is tried early (after `stale`'s would be), and `stale`
    // keeps no wake-up time (made due, it was found due again at once, for ever).
    await keeperBack(port, keeper);
    await eventually(
      "the other agent awake",
      async () => (await again.client.getAgent(other)).status === "active",
      20_000,
    );
    const row = hostRow<{ status: string; wake_at: number | null }>(
      again.dataDir,
      "SELECT status, wake_at FROM agents WHERE id = ?",
      stale,
    );
    assertEquals({ ...row }, { status: "inactive", wake_at: null });
  } finally {
    await stopAll();
  }
});

Deno.test("a create that names the host with the code gets it while a sweep of the mesh for the same module waits on a host that hangs", async () => {
  let stuck: Awaited<ReturnType<typeof startHost>> | undefined;
  try {
    // `keeper` has the module and is no member of the runner's mesh; `aaa` is, and hangs (SIGSTOP)
    // while still counted online (its heartbeats count for a minute).
    // (Keyless: this host sends its key to hosts of its mesh only.)
    const keeper = await startHost({ name: "keeper" });
    const put = await keeper.client.fetch("PUT", "/v1/code", { body: MODULE });
    const { hash } = await put.json() as { hash: string };
    const slowMesh = ["--gossip-interval-ms", "200", "--offline-after-ms", "60000"];
    stuck = await startHost({ name: "aaa", apiKey: KEY, args: slowMesh });
    const runner = await startHost({ name: "runner", apiKey: KEY, args: [...slowMesh, "--peer", stuck.url] });
    await eventually("the runner to see aaa", () => seesAllOnline(runner, ["aaa", "runner"]));
    stuck.process.kill("SIGSTOP");

    // No host named: the runner asks its mesh, that is the hanging host.
    const swept = runner.client.createAgent({ type: "tests.waiting-counter", code: hash }).then(
      () => "created",
      (err: { code: string }) => err.code,
    );
    const named = await runner.client.createAgent({
      type: "tests.waiting-counter",
      code: hash,
      codeFrom: keeper.url,
    });
    assertEquals(await runner.client.send(named.id, { kind: "count" }), 1);
    assert(["created", "code_unavailable"].includes(await swept), await swept);
  } finally {
    stuck?.process.kill("SIGCONT");
    await stopAll();
  }
});

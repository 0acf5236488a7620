/**
 * A host's start and stop as a user meets them, with real processes: one host per data dir, start
 * failures with codes, a health probe that tells the truth, signals at any moment, and event
 * streams that end when their host stops.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets, pagletsCommand } from "../helpers/cli.ts";
import { freePort, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { tempDir } from "../helpers/temp.ts";
import { KERNEL_FIXTURES } from "../fixtures/kernel_paglets.ts";
import { firstJsonLine } from "../../scripts/spawn_host.ts";

/** `paglets host ...args` on a fresh data dir (unless given), run until it ends by itself. */
async function hostFails(args: string[]): Promise<{ code: number; stderr: string }> {
  const run = await paglets(["host", "--name", "refused", ...args]);
  return { code: run.code, stderr: run.stderr };
}

/** Spawns `paglets host` on `port` without waiting for it (the caller watches it start). */
function spawnHost(port: number, dataDir: string): Deno.ChildProcess {
  return pagletsCommand(["host", "--name", "early", "--port", String(port), "--data-dir", dataDir, "--json"])
    .spawn();
}

/**
 * `paglets host --port 0 ARGS` in a network namespace of its own (`unshare -n`, root only), its
 * loopback up: nothing it does reaches any other network.
 */
function isolatedHost(
  args: string[],
  env: Record<string, string>,
  options: { signal?: AbortSignal } = {},
): Deno.Command {
  return new Deno.Command("unshare", {
    args: [
      "-n",
      "sh",
      "-c",
      'ip link set lo up && exec "$0" "$@"',
      Deno.execPath(),
      "run",
      "--allow-all",
      "--quiet",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      new URL("../../main.ts", import.meta.url).pathname,
      "host",
      "--port",
      "0",
      ...args,
    ],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...options,
  });
}

async function textOf(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

Deno.test("a second host on the same data dir is refused with the PID of the first", async () => {
  try {
    const first = await startHost({ name: "first" });
    const second = await hostFails(["--port", "0", "--data-dir", first.dataDir]);
    assertEquals(second.code, 1, second.stderr);
    assert(second.stderr.includes("[data_dir_in_use]"), second.stderr);
    assert(second.stderr.includes(`data dir in use by PID ${first.process.pid}`), second.stderr);
    // The first host still has its data dir to itself and keeps serving.
    assertEquals((await first.client.health()).ok, true);
    await first.stop();
    // Once it stopped, the data dir is free again.
    const again = await startHost({ name: "first", dataDir: first.dataDir });
    assertEquals((await again.client.health()).name, "first");
  } finally {
    await stopAll();
  }
});

Deno.test("start failures a user causes carry codes, never internal", async () => {
  const dataDir = await tempDir("paglets-test-codes-");
  const badPort = await hostFails(["--port", "99999", "--data-dir", dataDir]);
  assert(badPort.stderr.includes("[invalid_request]") && badPort.stderr.includes("--port"), badPort.stderr);

  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const inUse = await hostFails(["--port", String(taken.addr.port), "--data-dir", dataDir]);
    assert(inUse.stderr.includes("[port_in_use]"), inUse.stderr);
    assert(inUse.stderr.includes(String(taken.addr.port)), inUse.stderr);
  } finally {
    taken.close();
  }
  // Option values checked where they are typed: exit 2, naming the option, nothing in the data dir.
  const untouched = `${dataDir}/untouched`;
  for (
    const [args, message] of [
      [["--peer", "ftp://x"], "--peer must be a host's http(s) URL"],
      [["--peer", ""], "--peer must be a host's http(s) URL"],
      [["--mesh-version", ""], "--mesh-version must not be empty"],
      [["--tag", ""], "--tag must not be empty"],
      [["--tag", "a b"], "--tag must be a word like linux or gpu: got 'a b'"],
    ] as const
  ) {
    const run = await hostFails(["--port", "0", "--data-dir", untouched, ...args]);
    assertEquals(run.code, 2, run.stderr);
    assert(run.stderr.includes(`[invalid_request]: ${message}`), run.stderr);
  }
  assert(!(await Deno.stat(untouched).then(() => true, () => false)), "no data dir made");

  const missing = await hostFails(["--port", "0", "--data-dir", dataDir, "--module", "./no/such/module.ts"]);
  assert(missing.stderr.includes("[module_not_found]"), missing.stderr);
  const missingUrl = await hostFails([
    "--port",
    "0",
    "--data-dir",
    dataDir,
    "--module",
    "file:///no/such/module.ts",
  ]);
  assert(missingUrl.stderr.includes("[module_not_found]"), missingUrl.stderr);
  // A module that exists but cannot load (here: an import the user's file cannot resolve) ends the
  // start with its error, named once, instead of a host whose every create fails.
  const broken = `${dataDir}/broken.ts`;
  await Deno.writeTextFile(broken, 'import { z } from "zod-not-installed";\nexport const s = z;\n');
  // (A host that started anyway would run until the helper's 120 s signal ends it: not exit 1.)
  const unloadable = await hostFails(["--port", "0", "--data-dir", `${dataDir}/b`, "--module", broken]);
  assertEquals(unloadable.code, 1, unloadable.stderr);
  assert(unloadable.stderr.includes("[module_load_failed]"), unloadable.stderr);
  assertEquals(unloadable.stderr.split("failed to load").length, 2, unloadable.stderr);
  assert(!unloadable.stderr.includes("listening"), unloadable.stderr);
  for (const run of [badPort, missing, missingUrl, unloadable]) {
    assert(!run.stderr.includes("[internal]"), run.stderr);
  }
});

Deno.test({
  name: "a --bind that names no address is refused with the name, before the data dir is used",
  // A network namespace of its own (root only), so that the failed lookup sends nothing anywhere.
  ignore: Deno.uid() !== 0,
  async fn() {
    const dataDir = await tempDir("paglets-test-bind-");
    const out = await isolatedHost([
      "--name",
      "refused",
      "--bind",
      "no-such-host.invalid",
      "--data-dir",
      dataDir,
    ], {
      PAGLETS_API_KEY: "",
    }, { signal: AbortSignal.timeout(120_000) }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 2, stderr);
    assert(stderr.includes("[invalid_request]"), stderr);
    assert(stderr.includes("Cannot listen on no-such-host.invalid: the name does not resolve"), stderr);
    assert(!stderr.includes("warning"), `no warning about listening where it never listens: ${stderr}`);
    assertEquals(
      [...Deno.readDirSync(dataDir)],
      [],
      "nothing is made in the data dir of a host that cannot listen",
    );
  },
});

Deno.test("health answers 200 only once the API serves: a client that waited for it can create at once", async () => {
  const port = freePort();
  const dataDir = await tempDir("paglets-test-ready-");
  const child = spawnHost(port, dataDir);
  const stdout = textOf(child.stdout);
  const stderr = textOf(child.stderr);
  try {
    const url = `http://127.0.0.1:${port}`;
    const notReady: unknown[] = [];
    await eventually("health answers 200", async () => {
      const res = await fetch(`${url}/v1/health`).catch(() => null);
      if (!res) return false;
      const body = await res.json();
      if (res.status !== 200) notReady.push(body);
      return res.status === 200;
    }, 30_000);
    const created = await fetch(`${url}/v1/agents`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "demo.counter" }),
    });
    assertEquals(created.status, 201, await created.clone().text());
    for (const body of notReady) {
      assertEquals((body as { ready: boolean }).ready, false);
      assertEquals((body as { error: { code: string } }).error.code, "starting");
    }
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Promise.all([stdout, stderr]);
  }
});

Deno.test("a signal that arrives the moment health first answers stops the host cleanly", async () => {
  const port = freePort();
  const dataDir = await tempDir("paglets-test-signal-");
  const child = spawnHost(port, dataDir);
  const stdout = textOf(child.stdout);
  const stderr = textOf(child.stderr);
  try {
    await eventually(
      "health answers at all",
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/v1/health`).catch(() => null);
        await res?.body?.cancel();
        return res !== null;
      },
      30_000,
      5,
    );
    child.kill("SIGINT");
    const status = await child.status;
    const err = await stderr;
    assertEquals(status.code, 0, err);
    assert(err.includes("stopped"), err);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already ended */ }
    await child.status;
    await stdout;
  }
});

Deno.test("an open event stream ends when its host stops, and the host exits", async () => {
  try {
    const host = await startHost({ name: "streaming" });
    const res = await fetch(`${host.url}/v1/events/stream`);
    assertEquals(res.status, 200);
    const body = textOf(res.body!);
    host.process.kill("SIGTERM");
    const status = await host.process.status;
    assertEquals(status.code, 0, host.stderr.join("\n"));
    const text = await body;
    assert(text.includes("event: host-stopping"), text);
  } finally {
    await stopAll();
  }
});

Deno.test("follow says once that its host stopped and picks up again when it is back", async () => {
  try {
    const port = freePort();
    const host = await startHost({ name: "followed", port });
    const follow = pagletsCommand(["follow", "--entry", host.url]).spawn();
    const lines: string[] = [];
    const reading = (async () => {
      for await (const chunk of follow.stderr.pipeThrough(new TextDecoderStream())) lines.push(chunk);
    })();
    const stdout = textOf(follow.stdout);
    try {
      const streams = async (h: typeof host) => (await h.client.hostInfo()).eventStreams;
      await eventually("follow connected", async () => await streams(host) === 1, 20_000);
      await host.stop();
      await eventually(
        "follow says the host stopped",
        () => lines.join("").includes("stopped; waiting"),
        20_000,
      );
      const again = await startHost({ name: "followed", port, dataDir: host.dataDir });
      await eventually("follow reconnected", () => lines.join("").includes("reconnected"), 20_000);
      assertEquals(await streams(again), 1);
      assertEquals(lines.join("").split("stopped; waiting").length, 2, lines.join(""));
      await again.stop();
    } finally {
      follow.kill("SIGKILL");
      await follow.status;
      await reading.catch(() => {});
      await stdout;
    }
  } finally {
    await stopAll();
  }
});

Deno.test("a start without the module of some agents reports them and keeps them for the start that has it", async () => {
  const dir = await tempDir("paglets-test-restore-report-");
  const module = `${dir}/fragile.ts`;
  await Deno.writeTextFile(
    module,
    'import { Paglet } from "paglets";\nexport class Fragile extends Paglet<{ n: number }> {\n' +
      '  static override readonly type = "test.fragile";\n  override initialState() { return { n: 0 }; }\n' +
      "  override onMessage() { return { n: ++this.state.n }; }\n}\n",
  );
  const data = `${dir}/data`;
  try {
    const first = await startHost({ name: "keeper", dataDir: data, args: ["--module", module] });
    const { id: stopped } = await first.client.createAgent({ type: "test.fragile" });
    const { id: killed } = await first.client.createAgent({ type: "test.fragile" });
    assertEquals(await first.client.send(killed, { kind: "bump" }), { n: 1 });
    await first.client.deactivate(killed, { activateOnStartup: true });
    await first.client.activate(killed);
    // A graceful stop deactivates `stopped`; `killed` stays recorded active after the SIGKILL below.
    await first.client.deactivate(stopped, { activateOnStartup: true });
    first.process.kill("SIGKILL");
    await first.process.status;
    // Started without the module that defines their type: reported on stderr, and kept asleep.
    const again = await startHost({ name: "keeper", dataDir: data });
    for (const id of [stopped, killed]) {
      await eventually(`${id} on stderr`, () => Promise.resolve(again.stderr.some((l) => l.includes(id))));
      const line = again.stderr.find((l) => l.includes(id))!;
      assert(line.includes("restore-waiting") && line.includes("test.fragile"), line);
      const record = await again.client.getAgent(id);
      const policy = record.policy as { activateOnStartup?: boolean } | null;
      assertEquals([record.status, policy?.activateOnStartup], ["inactive", true]);
    }
    await again.stop();
    // The start that has the module brings them back, with their state.
    const back = await startHost({ name: "keeper", dataDir: data, args: ["--module", module] });
    assertEquals((await back.client.getAgent(stopped)).status, "active");
    assertEquals(await back.client.send(killed, { kind: "bump" }), { n: 2 });
  } finally {
    await stopAll();
  }
});

Deno.test("an agent whose own onActivation fails at the start is crashed, whatever code its error carries", async () => {
  const data = await tempDir("paglets-test-restore-own-");
  try {
    const first = await startHost({ name: "own", dataDir: data, args: ["--module", KERNEL_FIXTURES] });
    const { id } = await first.client.createAgent({ type: "kernel.thrower" });
    await first.client.send(id, { kind: "hang-on", args: { hook: "activation-throw-code" } });
    await first.client.deactivate(id, { activateOnStartup: true });
    await first.stop();
    // Its type is here: the unknown_agent_type its hook throws is its own failure, not a missing module.
    const again = await startHost({ name: "own", dataDir: data, args: ["--module", KERNEL_FIXTURES] });
    const record = await again.client.getAgent(id);
    assertEquals(record.status, "crashed");
  } finally {
    await stopAll();
  }
});

Deno.test("a graceful stop while a forwarded message is still under way answers or cuts it, and exits 0", async () => {
  try {
    const far = await startHost({ name: "far" });
    const near = await startHost({ name: "near", args: ["--peer", far.url] });
    const { id } = await near.client.createAgent({ type: "demo.busy" });
    await near.client.dispatch(id, far.url);
    // Sent to the host the agent left: forwarded to `far`, where it runs for 4 s.
    const burning = near.client.send(id, { kind: "burn", args: { ms: 4000 } }).then(() => null, (e) => e);
    await eventually("the forwarded message running at far", async () => {
      const record = await far.client.getAgent(id) as unknown as { mailbox?: { busy: boolean } };
      return record.mailbox?.busy === true;
    });
    near.process.kill("SIGTERM");
    const status = await near.process.status;
    assertEquals(status.code, 0, near.stderr.join("\n"));
    assert(!near.stderr.join("\n").includes("BadResource"), near.stderr.join("\n"));
    await burning;
  } finally {
    await stopAll();
  }
});

Deno.test({
  name:
    "a host on every address without --public-url publishes the loopback URL and says other machines cannot reach it",
  // A network namespace of its own (root only): every address there is its loopback.
  ignore: Deno.uid() !== 0,
  async fn() {
    const dataDir = await tempDir("paglets-test-wildcard-");
    const child = isolatedHost(
      ["--name", "wildcard", "--bind", "0.0.0.0", "--data-dir", dataDir, "--json"],
      { PAGLETS_API_KEY: "a-key-so-that-only-this-warning-shows" },
    ).spawn();
    const stderr = textOf(child.stderr);
    try {
      const line = await firstJsonLine(child.stdout, 60_000) as { url: string } | null;
      assert(line && /^http:\/\/127\.0\.0\.1:\d+$/.test(line.url), JSON.stringify(line));
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
    const text = await stderr;
    assert(
      text.includes("publishing a loopback URL, which hosts on other machines cannot reach") &&
        text.includes("--public-url"),
      text,
    );
  },
});

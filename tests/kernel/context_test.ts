/**
 * The context API as paglets use it: creating and disposing others, leaving by themselves,
 * scratch directories, per-type persistent storage with a quota, multicast, futures, waiting on
 * state, events and host info.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { call, type ErrorBody, fixtureHost, KERNEL_FIXTURES } from "./helpers.ts";

type Log = { log: string[] };
const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("a paglet drives other paglets and itself through its context", async (t) => {
  await using h = await fixtureHost({ persistentStorageQuota: 4096 });
  const url = h.host.url;
  const client = h.client;
  const { id } = await client.createAgent({ type: "kernel.context" });
  const send = (kind: string, args: Record<string, unknown> = {}) => client.send(id, { kind, args });

  await t.step("it creates another paglet on its host", async () => {
    const { ref } = await send("create", { type: "demo.counter", state: { count: 7 } }) as {
      ref: { id: string; host: string };
    };
    assertEquals(ref.host, url);
    const record = await client.getAgent(ref.id);
    assertEquals([record.type, (record.state as { count: number }).count], ["demo.counter", 7]);
  });

  await t.step("it disposes another paglet", async () => {
    const other = await client.createAgent({ type: "demo.counter" });
    await send("dispose", { target: other.id });
    assertEquals((await call(url, "GET", `/v1/agents/${other.id}`)).status, 404);
  });

  await t.step("it sends to another paglet and gets a future reply", async () => {
    const other = await client.createAgent({ type: "demo.counter", state: { count: 2 } });
    assertEquals(await send("send", { target: other.id, kind: "get" }), { reply: { count: 2 } });
    const { reply } = await send("future", { target: other.id, kind: "increment", args: { by: 3 } }) as {
      reply: unknown;
    };
    assertEquals(reply, { count: 5 });
  });

  await t.step("multicast reaches every other active paglet of the host", async () => {
    await using m = await fixtureHost();
    const caller = await m.client.createAgent({ type: "kernel.context" });
    const targets = await Promise.all([1, 2, 3].map(() => m.client.createAgent({ type: "kernel.recorder" })));
    const asleep = await m.client.createAgent({ type: "kernel.recorder" });
    await m.client.deactivate(asleep.id);
    const { count, replies } = await m.client.send(caller.id, {
      kind: "multicast",
      args: { kind: "ping" },
    }) as {
      count: number;
      replies: { pong: string }[];
    };
    assertEquals(count, 3);
    assertEquals(replies.map((r) => r.pong).sort(), targets.map((t) => t.id).sort());
  });

  await t.step("it knows its host and reads the host's recent events", async () => {
    const { host } = await send("host") as { host: { name: string; url: string; cpuCount: number } };
    assertEquals([host.name, host.url], ["test", url]);
    assert(host.cpuCount >= 1);
    const { events } = await send("events", { since: 0, limit: 500 }) as { events: { kind: string }[] };
    assert(events.some((e) => e.kind === "create"));
  });

  await t.step("its scratch directory is removed when it is disposed", async () => {
    const scratch = await client.createAgent({ type: "kernel.context" });
    const { dir } = await client.send(scratch.id, {
      kind: "workdir-write",
      args: { name: "a.txt", text: "hi" },
    }) as {
      dir: string;
    };
    assert(dir.startsWith(h.dataDir), dir);
    assertEquals(await Deno.readTextFile(`${dir}/a.txt`), "hi");
    await client.dispose(scratch.id);
    // Removed right after the dispose, off the reply's path.
    await eventually("the scratch directory removed", async () => !(await exists(dir)));
  });

  await t.step("persistent storage is shared by every paglet of the type", async () => {
    await send("storage-write", { path: "notes/today.txt", text: "shared" });
    const sibling = await client.createAgent({ type: "kernel.context" });
    assertEquals(await client.send(sibling.id, { kind: "storage-read", args: { path: "notes/today.txt" } }), {
      text: "shared",
    });
    assertEquals(await client.send(sibling.id, { kind: "storage-list" }), { files: ["notes/today.txt"] });
  });

  await t.step("a hook uses persistent storage before its paglet is live", async () => {
    const early = await client.createAgent({ type: "kernel.context", state: { log: ["store-at-creation"] } });
    assertEquals(await client.send(early.id, { kind: "storage-read", args: { path: "creation.txt" } }), {
      text: early.id,
    });
    await client.send(early.id, { kind: "storage-delete", args: { path: "creation.txt" } });
  });

  await t.step("a write past the storage quota fails with quota_exceeded", async () => {
    const answer = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/messages`, {
      kind: "storage-write-bytes",
      args: { path: "big.bin", size: 5000 },
    });
    assertEquals([answer.status, answer.body.error.code], [413, "quota_exceeded"]);
    const ok = await send("storage-write-bytes", { path: "small.bin", size: 1000 }) as {
      status: { usedBytes: number; quotaBytes: number };
    };
    assertEquals(ok.status.quotaBytes, 4096);
    assert(ok.status.usedBytes >= 1000 && ok.status.usedBytes < 4096);
  });

  await t.step("deleting a file or a folder frees its bytes", async () => {
    type Status = { status: { usedBytes: number } };
    await send("storage-write-bytes", { path: "gone/a.bin", size: 700 });
    const both = (await send("storage-write-bytes", { path: "gone/b.bin", size: 300 }) as Status).status;
    const file = (await send("storage-delete", { path: "gone/a.bin" }) as Status).status;
    assertEquals(file.usedBytes, both.usedBytes - 700);
    const folder = (await send("storage-delete", { path: "gone" }) as Status).status;
    assertEquals(folder.usedBytes, both.usedBytes - 1000);
    const again = (await send("storage-delete", { path: "gone" }) as Status).status;
    assertEquals(again.usedBytes, folder.usedBytes, "deleting what is gone changes nothing");
  });

  await t.step("storage paths that leave the type's folder are rejected", async () => {
    for (const path of ["../escape.txt", "/etc/passwd", "a/../../b", ""]) {
      const answer = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/messages`, {
        kind: "storage-write",
        args: { path, text: "x" },
      });
      assertEquals([answer.status, answer.body.error.code], [422, "invalid_request"], path);
    }
  });

  await t.step("waitState in run() wakes when a message changes the state", async () => {
    const watcher = await client.createAgent({ type: "kernel.context", state: { log: ["watching"] } });
    await client.send(watcher.id, { kind: "set-flag" });
    await eventually("run() to see the flag", async () => {
      const { log } = await client.send(watcher.id, { kind: "log" }) as Log;
      return log.includes("flag-seen");
    });
  });

  await t.step(
    "a handler waiting for a message to its own paglet times out (one handler at a time)",
    async () => {
      assertEquals(await send("wait-flag", { timeoutMs: 150 }), { seen: false });
    },
  );

  await t.step("it disposes itself from a handler: the reply arrives, then the paglet is gone", async () => {
    const leaver = await client.createAgent({ type: "kernel.context" });
    assertEquals(await client.send(leaver.id, { kind: "dispose-self" }), { bye: true });
    await eventually(
      "the paglet to be gone",
      async () => (await call(url, "GET", `/v1/agents/${leaver.id}`)).status === 404,
    );
  });

  await t.step("it deactivates itself with after(seconds) and wakes up by itself", async () => {
    const sleeper = await client.createAgent({ type: "kernel.context" });
    assertEquals(await client.send(sleeper.id, { kind: "sleep", args: { seconds: 0.4 } }), {
      sleeping: true,
    });
    const inactive = await eventually("the paglet to be inactive", async () => {
      const record = await client.getAgent(sleeper.id);
      return record.status === "inactive" ? record : null;
    });
    assert(Number((inactive.policy as { activateAt: number }).activateAt) > 0);
    await eventually(
      "the timed wake-up",
      async () => (await client.getAgent(sleeper.id)).status === "active",
    );
    const { log } = await client.send(sleeper.id, { kind: "log" }) as Log;
    // The handler finished before the paglet left: its last change was kept.
    assertEquals(log, ["after-deactivate-call", "deactivating:self", "activation:timer"]);
  });
});

Deno.test("a scratch directory outlives a host restart with its agent; those of gone agents are removed", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "paglets-test-scratch-" });
  try {
    let dir = "";
    {
      await using h = await fixtureHost({ dataDir });
      const { id } = await h.client.createAgent({ type: "kernel.context" });
      ({ dir } = await h.client.send(id, {
        kind: "workdir-write",
        args: { name: "left.txt", text: "x" },
      }) as {
        dir: string;
      });
      assert(await exists(`${dir}/left.txt`));
      await Deno.mkdir(`${dataDir}/work/no-such-agent`);
    }
    await using again = await fixtureHost({ dataDir });
    assert(again.host.ready);
    // The host stop deactivated the agent: it is still this host's, and so is its directory.
    assertEquals(await exists(`${dir}/left.txt`), true);
    assertEquals(await exists(`${dataDir}/work/no-such-agent`), false);
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("--persistent-storage-quota of `paglets host` reaches the host", async () => {
  try {
    const host = await startHost({
      name: "quota",
      args: ["--persistent-storage-quota", "1K", "--module", KERNEL_FIXTURES, "--workers", "1"],
    });
    const { id } = await host.client.createAgent({ type: "kernel.context" });
    const over = await call<ErrorBody>(host.url, "POST", `/v1/agents/${id}/messages`, {
      kind: "storage-write-bytes",
      args: { path: "x.bin", size: 2000 },
    });
    assertEquals([over.status, over.body.error.code], [413, "quota_exceeded"]);
    const under = await host.client.send(id, {
      kind: "storage-write-bytes",
      args: { path: "x.bin", size: 500 },
    }) as {
      status: { quotaBytes: number };
    };
    assertEquals(under.status.quotaBytes, 1024);
    await host.stop();
    await Deno.remove(host.dataDir, { recursive: true }).catch(() => {});
  } finally {
    await stopAll();
  }
});

Deno.test("a paglet that leaves first thing in run() leaves: deactivated with its state, or disposed", async (t) => {
  await using h = await fixtureHost();
  const client = h.client;

  await t.step("deactivate(after(...)) from run() stores it inactive with the poll it counted", async () => {
    const { id } = await client.createAgent({ type: "kernel.poller" });
    const record = await eventually("the poller to be inactive", async () => {
      const r = await client.getAgent(id);
      return r.status === "active" ? null : r;
    });
    assertEquals(record.status, "inactive");
    assertEquals((record.state as { polls: number }).polls, 1);
    assert(Number((record.policy as { activateAt: number }).activateAt) > Date.now() + 200_000);
  });

  await t.step("dispose() from run() removes it", async () => {
    const { id } = await client.createAgent({ type: "kernel.poller", state: { dispose: true } });
    await eventually(
      "the poller to be gone",
      async () => (await call(h.host.url, "GET", `/v1/agents/${id}`)).status === 404,
    );
    const crashed = h.host.events.since(0, 1000).filter((e) =>
      e.agentId === id && e.kind === "paglet-crashed"
    );
    assertEquals(crashed, []);
  });
});

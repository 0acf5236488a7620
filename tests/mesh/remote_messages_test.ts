/** Name-based targets and message forwarding between real host processes on 127.0.0.1. */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH, meshHosts, PROBE_MODULE, seesAllOnline, writeForwardingRecord } from "./helpers.ts";

Deno.test("paglets reach hosts and agents of the mesh by name, and messages follow agents that moved", async (t) => {
  try {
    const args = [...FAST_MESH, ...PROBE_MODULE];
    const a = await startHost({ name: "a", args });
    const b = await startHost({ name: "b", args: [...args, "--peer", a.url] });
    const c = await startHost({ name: "c", args: [...args, "--peer", a.url] });
    for (const host of [a, b, c]) {
      await eventually(`${host.name} to see the mesh`, () => seesAllOnline(host, ["a", "b", "c"]));
    }
    const probe = await a.client.createAgent({ type: "test.mesh.probe" });
    const ask = (kind: string, args: Record<string, unknown> = {}) => a.client.send(probe.id, { kind, args });

    await t.step(
      "context.create({host: 'b'}) creates the paglet on b, and context.send reaches it there",
      async () => {
        const ref = await ask("create", { type: "demo.counter", host: "b", state: { count: 10 } }) as {
          id: string;
          host: string;
        };
        assertEquals(ref.host, b.url);
        assertEquals((await b.client.getAgent(ref.id)).type, "demo.counter");
        assertEquals(await ask("send", { id: ref.id, host: ref.host, kind: "increment", args: { by: 5 } }), {
          reply: { count: 15 },
        });
        assertEquals(await ask("send", { id: ref.id, host: "b", kind: "get" }), { reply: { count: 15 } });
        const byUrl = await ask("create", { type: "demo.counter", host: `${c.url}/` }) as {
          id: string;
          host: string;
        };
        assertEquals(byUrl.host, c.url);
      },
    );

    await t.step("context.dispose(ref) disposes the paglet on the host its ref names", async () => {
      const ref = await ask("create", { type: "demo.counter", host: "b" }) as { id: string; host: string };
      assertEquals(await ask("dispose", { id: ref.id, host: ref.host }), { disposed: true });
      await assertRejectsCode(() => b.client.getAgent(ref.id), "agent_not_found");
      const byName = await ask("create", { type: "demo.counter", host: "c" }) as { id: string };
      assertEquals(await ask("dispose", { id: byName.id, host: "c" }), { disposed: true });
      await assertRejectsCode(() => c.client.getAgent(byName.id), "agent_not_found");
      // A ref naming this host by an address it no longer has (a restart on another port): here.
      const local = await a.client.createAgent({ type: "demo.counter" });
      assertEquals(await ask("dispose", { id: local.id, host: "http://127.0.0.1:1" }), { disposed: true });
      await assertRejectsCode(() => a.client.getAgent(local.id), "agent_not_found");
      // An id alone names a paglet of this host.
      const elsewhere = await ask("create", { type: "demo.counter", host: "b" }) as { id: string };
      await assertRejectsCode(() => ask("dispose", { id: elsewhere.id }), "agent_not_found");
      assertEquals((await b.client.getAgent(elsewhere.id)).status, "active");
    });

    await t.step("context.hosts, isHostOnline and waitForHost answer from the membership table", async () => {
      const { hosts } = await ask("hosts") as { hosts: { name: string; online: boolean }[] };
      assertEquals(hosts.map((h) => h.name), ["a", "b", "c"]);
      assertEquals(await ask("isHostOnline", { host: "b" }), { online: true });
      assertEquals(await ask("isHostOnline", { host: c.url }), { online: true });
      assertEquals(await ask("isHostOnline", { host: "nowhere" }), { online: false });
      assertEquals(await ask("waitForHost", { host: "c", timeoutMs: 2000 }), { online: true });
      assertEquals(await ask("waitForHost", { host: "nowhere", timeoutMs: 300 }), { online: false });
    });

    await t.step("creating on an unknown host name fails with host_not_found", async () => {
      const err = await assertRejectsCode(
        () => ask("create", { type: "demo.counter", host: "nowhere" }),
        "host_not_found",
      );
      assert(/nowhere/.test(err.message), err.message);
    });

    await t.step("an inactive agent on the same host still gets its messages", async () => {
      const local = await a.client.createAgent({ type: "demo.counter", state: { count: 3 } });
      await a.client.deactivate(local.id);
      assertEquals(await ask("send", { id: local.id, kind: "get" }), { reply: { count: 3 } });
    });

    await t.step("a message sent to host A for an agent that moved to B arrives", async () => {
      const agent = await b.client.createAgent({ type: "demo.counter", state: { count: 1 } });
      writeForwardingRecord(a, agent.id, b.url);
      assertEquals(await a.client.send(agent.id, { kind: "increment", args: { by: 1 } }), { count: 2 });
      assertEquals(await ask("send", { id: agent.id, kind: "get" }), { reply: { count: 2 } });
      const queued = await a.client.send(agent.id, { kind: "increment" }, { oneway: true });
      assertEquals(queued, { accepted: true });
      await eventually(
        "the oneway message to arrive",
        async () => (await b.client.send(agent.id, { kind: "get" }) as { count: number }).count === 3,
      );
    });

    await t.step(
      "an agent dispatched to 'b' by name still gets the messages sent to its old host",
      async () => {
        const { id } = await a.client.createAgent({ type: "demo.counter", state: { count: 5 } });
        assertEquals((await a.client.dispatch(id, "b")).host, b.url);
        assertEquals(await a.client.send(id, { kind: "increment" }), { count: 6 });
        assertEquals(await c.client.send(id, { kind: "get" }).catch((e) => e.code), "agent_not_found");
      },
    );

    await t.step("forwarding follows a chain of moves (A → b by name → C)", async () => {
      const agent = await c.client.createAgent({ type: "demo.counter", state: { count: 100 } });
      writeForwardingRecord(a, agent.id, "b");
      writeForwardingRecord(b, agent.id, c.url);
      assertEquals(await a.client.send(agent.id, { kind: "increment", args: { by: 1 } }), { count: 101 });
    });

    await t.step(
      "forwarding records that form a loop fail with agent_not_found after a bounded number of hops",
      async () => {
        const ghost = "ag_ghost_loop";
        writeForwardingRecord(a, ghost, b.url);
        writeForwardingRecord(b, ghost, a.url);
        const err = await assertRejectsCode(
          () => a.client.send(ghost, { kind: "get" }, { timeoutMs: 10_000 }),
          "agent_not_found",
        );
        // Cut by the hop count, not by the request's timeout (which would answer `timeout`).
        assert(/8 forwarding hops/.test(err.message), err.message);
      },
    );

    await t.step("an agent this host has no record of is agent_not_found, not forwarded", async () => {
      await assertRejectsCode(() => a.client.send("ag_unknown_anywhere", { kind: "get" }), "agent_not_found");
    });
  } finally {
    await stopAll();
  }
});

Deno.test("an agent's old host forwards to its new host after that one came back at another address", async () => {
  try {
    const a = await startHost({ name: "a", args: FAST_MESH });
    let b = await startHost({ name: "b", args: [...FAST_MESH, "--peer", a.url] });
    await eventually("a to see b", () => seesAllOnline(a, ["a", "b"]));
    const { id } = await a.client.createAgent({ type: "demo.counter" });
    await a.client.dispatch(id, b.url);
    const oldUrl = b.url;
    await b.stop();
    // The same host (name, data dir) on another port.
    b = await startHost({ name: "b", dataDir: b.dataDir, args: [...FAST_MESH, "--peer", a.url] });
    assert(b.url !== oldUrl, "another port");
    await eventually("a to see b at its new address", async () => {
      const hosts = await meshHosts(a);
      return hosts.some((h) => h.name === "b" && h.url === b.url && h.online);
    });
    assertEquals(await a.client.send(id, { kind: "increment", args: { by: 2 } }), { count: 2 });
    assertEquals((await a.client.getAgent(id)).movedTo, b.url);
  } finally {
    await stopAll();
  }
});

/**
 * The paglet lifecycle: hook order, run() started after creation and activation and never awaited
 * by the call that caused it, crashes, failing hooks and state validation.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { call, type ErrorBody, fixtureHost } from "./helpers.ts";

type Log = { log: string[] };

Deno.test("lifecycle hooks run in order and run() is started but not awaited", async (t) => {
  await using h = await fixtureHost();
  const url = h.host.url;
  const client = h.client;
  let id = "";

  await t.step(
    "onCreation gets the creation args; the create call returns while run() still waits",
    async () => {
      const created = await client.createAgent({ type: "kernel.lifecycle", args: { tag: "first" } });
      id = created.id;
      // run() waits for a release (at most 30 s): a create that waited for run() would come back
      // only after that wait had ended, and the next step's release would then find run() over.
      const { log } = await eventually("run() to start", async () => {
        const reply = await client.send(id, { kind: "log" }) as Log;
        return reply.log.includes("run:start") ? reply : null;
      });
      assertEquals(log, ["creation(first)", "run:start"]);
    },
  );

  await t.step("run() goes on concurrently with message handlers and ends when released", async () => {
    await client.send(id, { kind: "release" });
    const { log } = await eventually("run() to end", async () => {
      const reply = await client.send(id, { kind: "log" }) as Log;
      return reply.log.includes("run:end") ? reply : null;
    });
    assertEquals(log, ["creation(first)", "run:start", "run:end"]);
  });

  await t.step("deactivation runs onDeactivating; activation runs onActivation and then run()", async () => {
    await client.deactivate(id);
    await client.activate(id);
    const { log } = await eventually("run() after activation", async () => {
      const reply = await client.send(id, { kind: "log" }) as Log;
      return reply.log.filter((l) => l === "run:start").length === 2 ? reply : null;
    });
    assertEquals(log.slice(3), ["deactivating:external", "activation:external", "run:start"]);
  });

  await t.step("a message to an inactive paglet activates it with reason 'message'", async () => {
    await client.send(id, { kind: "release" });
    await client.deactivate(id);
    const { log } = await client.send(id, { kind: "log" }) as Log;
    assert(log.includes("activation:message"), JSON.stringify(log));
  });

  await t.step("dispose runs onDisposing before the paglet is gone", async () => {
    await client.dispose(id);
    const { status } = await call(url, "GET", `/v1/agents/${id}`);
    assertEquals(status, 404);
    // onDisposing left its note in the type's persistent storage.
    const reader = await client.createAgent({ type: "kernel.lifecycle" });
    const { note } = await client.send(reader.id, { kind: "read-note", args: { id } }) as { note: string };
    assert(note.endsWith("disposing:dispose"), note);
  });
});

Deno.test("a paglet whose run() throws is crashed: messages answer 409 agent_crashed, dispose works", async () => {
  await using h = await fixtureHost();
  const url = h.host.url;
  const { body } = await call(url, "POST", "/v1/agents", { type: "kernel.crasher" });
  const id = String(body.id);
  const record = await eventually("the agent to be marked crashed", async () => {
    const answer = await call(url, "GET", `/v1/agents/${id}`);
    return answer.body.status === "crashed" ? answer.body : null;
  });
  assert(String(record.error).includes("boom in run()"), String(record.error));
  const message = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/messages`, { kind: "get" });
  assertEquals([message.status, message.body.error.code], [409, "agent_crashed"]);
  const activate = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/activate`);
  assertEquals([activate.status, activate.body.error.code], [409, "agent_crashed"]);
  const events = await h.client.events(0, 1000);
  assert(events.events.some((e) => e.kind === "paglet-crashed" && e.agentId === id));
  assertEquals((await call(url, "DELETE", `/v1/agents/${id}`)).status, 200);
  assertEquals((await call(url, "GET", `/v1/agents/${id}`)).status, 404);
});

Deno.test("a failing onCreation answers 422 hook_failed and leaves no agent behind", async () => {
  await using h = await fixtureHost();
  const url = h.host.url;
  const answer = await call<ErrorBody>(url, "POST", "/v1/agents", {
    type: "kernel.fragile",
    args: { fail: true },
  });
  assertEquals([answer.status, answer.body.error.code], [422, "hook_failed"]);
  assert(answer.body.error.message.includes("refusing to be created"));
  const { body } = await call<{ agents: unknown[] }>(url, "GET", "/v1/agents?type=kernel.fragile");
  assertEquals(body.agents, []);
  assertEquals((await call(url, "POST", "/v1/agents", { type: "kernel.fragile" })).status, 201);
});

Deno.test("a state that breaks the paglet's schema is never persisted for a later start", async () => {
  await using h = await fixtureHost();
  const url = h.host.url;
  const { id } = await h.client.createAgent({ type: "kernel.strict", state: { count: 3 } });
  // A handler may break the schema in memory; deactivation then refuses and the paglet stays.
  await h.client.send(id, { kind: "set", args: { count: -1 } });
  const refused = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/deactivate`);
  assertEquals([refused.status, refused.body.error.code], [422, "invalid_state"]);
  assertEquals((await h.client.getAgent(id)).status, "active");
  await h.client.send(id, { kind: "set", args: { count: 4 } });
  await h.client.deactivate(id);
  const record = await h.client.getAgent(id);
  assertEquals([record.status, record.state], ["inactive", { count: 4 }]);
});

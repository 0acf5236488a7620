/**
 * Messages to inactive paglets: activation on message, queueing, noDelay, the policy flags and
 * timed wake-ups (without a restart; durability_test.ts covers restarts).
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { call, type ErrorBody, fixtureHost } from "./helpers.ts";

type Notes = { notes: string[]; activations: number };

Deno.test("messages to an inactive paglet follow its deactivation policy", async (t) => {
  await using h = await fixtureHost();
  const url = h.host.url;
  const client = h.client;
  const note = (id: string, text: string, extra: Record<string, unknown> = {}) =>
    call(url, "POST", `/v1/agents/${id}/messages`, { kind: "note", args: { text }, ...extra });

  await t.step(
    "noDelay to an inactive paglet answers 409 agent_inactive and leaves it inactive",
    async () => {
      const { id } = await client.createAgent({ type: "kernel.recorder" });
      await client.deactivate(id);
      const answer = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/messages`, {
        kind: "notes",
        noDelay: true,
      });
      assertEquals([answer.status, answer.body.error.code], [409, "agent_inactive"]);
      assertEquals((await client.getAgent(id)).status, "inactive");
    },
  );

  await t.step("by default a message activates the paglet and gets its reply", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    await client.deactivate(id);
    assertEquals(await client.send(id, { kind: "note", args: { text: "wake" } }), { notes: 1 });
    assertEquals((await client.getAgent(id)).status, "active");
  });

  await t.step("with activateOnMessage=false messages are queued (202) and counted", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    await client.deactivate(id, { activateOnMessage: false });
    for (const text of ["one", "two", "three"]) {
      const answer = await note(id, text);
      assertEquals(answer.status, 202);
      assertEquals(answer.body.queued, true);
      assert(typeof answer.body.messageId === "string");
    }
    const record = await client.getAgent(id);
    assertEquals([record.status, record.queuedMessages], ["inactive", 3]);
    await client.activate(id);
    const { notes } = await client.send(id, { kind: "notes", priority: 1 }) as Notes;
    assertEquals(notes, ["one", "two", "three"]);
    assertEquals((await client.getAgent(id)).queuedMessages, 0);
  });

  await t.step("a message sent while queued ones are delivered never overtakes them", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    await client.deactivate(id, { activateOnMessage: false });
    const queued = Array.from({ length: 20 }, (_, i) => `q${i}`);
    for (const text of queued) await note(id, text);
    const [activated] = await Promise.all([client.activate(id), note(id, "late")]);
    assertEquals((activated as { status: string }).status, "active");
    const { notes } = await eventually("every note to be handled", async () => {
      const reply = await client.send(id, { kind: "notes", priority: 1 }) as Notes;
      return reply.notes.length === 21 ? reply : null;
    });
    assertEquals(notes, [...queued, "late"]);
  });

  await t.step("with neither activation nor queueing a message answers 409 agent_inactive", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    await client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: false });
    const answer = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/messages`, { kind: "notes" });
    assertEquals([answer.status, answer.body.error.code], [409, "agent_inactive"]);
  });

  await t.step("concurrent messages to an inactive paglet activate it exactly once", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    await client.deactivate(id);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => note(id, `n${i}`)));
    assert(answers.every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.body)));
    const { notes, activations } = await client.send(id, { kind: "notes" }) as Notes;
    assertEquals([notes.length, activations], [12, 1]);
  });

  await t.step("the policy flags are stored with the inactive record", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    const record = await client.deactivate(id, {
      activateOnMessage: false,
      queueMessagesWhenInactive: false,
      activateOnStartup: true,
      afterSeconds: 600,
    }) as { policy: Record<string, unknown> };
    assertEquals(record.policy.activateOnMessage, false);
    assertEquals(record.policy.queueMessagesWhenInactive, false);
    assertEquals(record.policy.activateOnStartup, true);
    assert(Math.abs(Number(record.policy.activateAt) - (Date.now() + 600_000)) < 5_000);
  });

  await t.step(
    "deactivating an inactive paglet answers 409 state_conflict; activating an active one is a no-op",
    async () => {
      const { id } = await client.createAgent({ type: "kernel.recorder" });
      assertEquals((await call(url, "POST", `/v1/agents/${id}/activate`)).status, 200);
      await client.deactivate(id);
      const again = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/deactivate`);
      assertEquals([again.status, again.body.error.code], [409, "state_conflict"]);
    },
  );

  await t.step("an inactive paglet with a wake-up time is active again once it is due", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    await client.deactivate(id, { afterSeconds: 0.3, activateOnMessage: false });
    assertEquals((await client.getAgent(id)).status, "inactive");
    await eventually("the timed wake-up", async () => (await client.getAgent(id)).status === "active");
    const { activations } = await client.send(id, { kind: "notes" }) as Notes;
    assertEquals(activations, 1);
  });

  await t.step("disposing an inactive paglet deletes it and its queued messages", async () => {
    const { id } = await client.createAgent({ type: "kernel.recorder" });
    await client.deactivate(id, { activateOnMessage: false });
    await note(id, "lost");
    await client.dispose(id);
    assertEquals((await call(url, "GET", `/v1/agents/${id}`)).status, 404);
    assertEquals(await h.host.store.queuedCount(id), 0);
  });
});

Deno.test("disposing an agent while it deactivates itself disposes its stored record", async () => {
  await using t = await testHost();
  const { id } = await t.client.createAgent({ type: "demo.busy" });
  // A burning handler holds the mailbox; a deactivation waits behind it, and a dispose behind both.
  const burn = t.client.send(id, { kind: "burn", args: { ms: 300 } });
  const deactivate = t.client.deactivate(id);
  const dispose = t.client.dispose(id);
  await burn;
  await deactivate.catch(() => {});
  await dispose;
  await assertRejectsCode(() => t.client.getAgent(id), "agent_not_found");
});

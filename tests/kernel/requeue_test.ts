/**
 * Messages that still wait in a paglet's mailbox when it is deactivated under a queueing policy are
 * stored for it: their senders are told so (`queued`, as for a message queued at once, not a reply
 * saying so), a oneway one stays oneway, and a message sent while the deactivation runs is stored
 * after them. Once activated, the paglet handles them in the order they were sent.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { testHost } from "../helpers/in_process.ts";
import { KERNEL_FIXTURES } from "../fixtures/kernel_paglets.ts";
import { AgentRuntime } from "../../host/kernel/agent_runtime.ts";
import { WINDOW } from "../../host/kernel/mailbox.ts";

Deno.test("messages waiting in the mailbox at a deactivation are stored in order, answered queued, oneway kept", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES] });
  const { id } = await h.client.createAgent({ type: "kernel.recorder" });
  const route = (kind: string, args: Record<string, unknown>, oneway = false) =>
    h.host.router.route(id, AgentRuntime.message({ kind, args }), { oneway });

  // A slow handler first; behind it a window's worth of notes is handed to the worker (they are
  // handled before the deactivation), and the rest wait in the kernel's mailbox.
  const work = route("work", { tag: "slow", ms: 300 });
  const waiting = WINDOW + 3;
  const sent = Array.from({ length: waiting }, (_, i) => route("note", { text: `n${i}` }, i === waiting - 1));
  const deactivating = h.host.runtime.deactivate(id, {
    activateOnMessage: false,
    queueMessagesWhenInactive: true,
  });
  const during = route("note", { text: "during" });
  await deactivating;
  await work;

  const results = await Promise.all(sent);
  const handed = WINDOW - 1;
  for (const [i, r] of results.entries()) {
    if (i === waiting - 1) assertEquals(r, { accepted: true }, "a oneway note is accepted at once");
    else if (i < handed) assert("reply" in r, `n${i} was handled: ${JSON.stringify(r)}`);
    else assert("queued" in r && r.queued === true, `n${i} answered queued: ${JSON.stringify(r)}`);
  }
  assert("queued" in await during, "a note sent during the deactivation is queued");

  const stored = await h.host.store.queued(id);
  assertEquals(
    stored.map((q) => [q.message.args.text, q.oneway]),
    [
      ...Array.from({ length: waiting - handed - 1 }, (_, i) => [`n${handed + i}`, false]),
      [`n${waiting - 1}`, true],
      ["during", false],
    ],
  );
  await h.client.activate(id);
  const { notes } = await h.client.send(id, { kind: "notes" }) as { notes: string[] };
  assertEquals(notes, [...Array.from({ length: waiting }, (_, i) => `n${i}`), "during"]);
});

Deno.test("messages whose senders got timeout while they waited neither wake the paglet they waited for nor run", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES] });
  const { id } = await h.client.createAgent({ type: "kernel.recorder" });
  const route = (kind: string, args: Record<string, unknown>, timeoutMs?: number) =>
    h.host.router.route(id, AgentRuntime.message({ kind, args }), { timeoutMs });
  // A slow handler; a window's worth of notes goes to the worker behind it, the rest wait here,
  // their senders' time running out before the handler is done.
  const work = route("work", { tag: "slow", ms: 600 });
  const sent = Array.from({ length: WINDOW + 3 }, (_, i) => route("note", { text: `n${i}` }, 100));
  const outcomes = await Promise.all(sent.map((p) => p.then(() => "reply", (err) => err.code)));
  assertEquals(outcomes, Array(WINDOW + 3).fill("timeout"));
  // Deactivated with activateOnMessage: the timed-out notes still waiting here must not wake it.
  await h.host.runtime.deactivate(id, { activateOnMessage: true });
  await work;
  assertEquals((await h.client.getAgent(id)).status, "inactive");
  // Woken now: only the notes that had reached its worker were ever handled.
  const { notes } = await h.client.send(id, { kind: "notes" }) as { notes: string[] };
  assertEquals(notes, Array.from({ length: WINDOW - 1 }, (_, i) => `n${i}`));
});

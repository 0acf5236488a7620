/**
 * An agent held `moving` by a departure its target has not confirmed (the target died after storing
 * it, before acknowledging) is neither here nor gone: messages and disposals of it answer 409
 * `agent_moving` until the target answers. An acknowledgement then would be a promise the source
 * cannot keep: a message queued for the agent here leaves the store with the record once the
 * target confirms, and a record deleted here does not stop the agent from living on there.
 */
import { assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { freePort, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { agentIds, startMobileHost } from "../mobility/helpers.ts";

Deno.test("an agent held moving by an unconfirmed departure refuses messages and disposal, and ends as one copy with its state", async () => {
  try {
    const port = freePort();
    const a = await startMobileHost("alpha");
    let b = await startMobileHost("beta", { port, env: { PAGLETS_FAULT: "exit-after-store" } });
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "set", args: { count: 7 } });
    // Its last deactivation queued messages: the moving record keeps that policy.
    await a.client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: true });
    await a.client.activate(id);

    await assertRejectsCode(() => a.client.dispatch(id, b.url), "transfer_pending");
    await b.process.status; // the fault ended it
    assertEquals((await a.client.getAgent(id)).status, "moving");
    await assertRejectsCode(
      () => a.client.send(id, { kind: "increment", args: { by: 1 } }, { timeoutMs: 2000 }),
      "agent_moving",
    );
    await assertRejectsCode(() => a.client.dispose(id), "agent_moving");

    b = await startMobileHost("beta", { port, dataDir: b.dataDir });
    await eventually("alpha settled the transfer", async () => (await agentIds(a)).length === 0, 20_000);
    assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });
    assertEquals(await agentIds(b), [id]);
    assertEquals((await b.client.send(id, { kind: "get" }) as { count: number }).count, 7);
  } finally {
    await stopAll();
  }
});

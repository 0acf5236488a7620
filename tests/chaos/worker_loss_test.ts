/**
 * Messages queued for an inactive agent (202) are handled exactly once even when the worker they
 * were handed to is lost: its agents come back from their records, and the stored messages they had
 * not finished are handed over again, once each, by that start.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { startMobileHost } from "../mobility/helpers.ts";

const INCREMENTS = 20;

type Live = { status: string; queuedMessages: number; mailbox?: { queued: number; busy: boolean } };

Deno.test("queued messages waiting in an agent's mailbox when its worker is replaced are handled once each", async () => {
  try {
    // One worker: the runaway and the agent with queued messages share it.
    const host = await startMobileHost("alpha");
    const client = host.client;
    const { id } = await client.createAgent({ type: "test.traveller" });
    await client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: true });
    // The first holds the agent's handlers in the worker until the worker is gone; the others
    // wait behind it, some in the worker, the rest in the kernel's mailbox.
    await client.send(id, { kind: "sleep", args: { ms: 5000 } });
    for (let i = 0; i < INCREMENTS; i++) {
      assertEquals((await client.send(id, { kind: "increment" }) as { queued?: boolean }).queued, true);
    }
    const busy = (await client.createAgent({ type: "demo.busy" })).id;

    await client.activate(id);
    await client.send(busy, { kind: "burn", args: { ms: 60_000 } }, { oneway: true });
    await eventually(
      "the burn to start",
      async () => (await client.getAgent(busy) as Live).mailbox?.busy === true,
    );
    const before = await client.getAgent(id) as Live;
    assert(
      before.mailbox !== undefined && before.mailbox.queued > 0,
      `stored messages wait in the mailbox: ${JSON.stringify(before.mailbox)}`,
    );

    await client.dispose(busy); // stuck: its worker is replaced, and the agent restored
    const count = await eventually(
      "every queued message handled",
      async () => {
        const record = await client.getAgent(id) as Live;
        if (record.status !== "active" || record.queuedMessages > 0) return null;
        if (record.mailbox?.queued || record.mailbox?.busy) return null;
        return (await client.send(id, { kind: "get" }) as { count: number }).count;
      },
      30_000,
      100,
    );
    assertEquals(count, INCREMENTS, "each queued increment once");
    const { events } = await client.events(0, 1000);
    assert(events.some((e) => e.kind === "worker-replaced"), "the worker was replaced");
  } finally {
    await stopAll();
  }
});

/**
 * Acknowledged means durable: a ledger records every change a host acknowledged; the host is
 * SIGKILLed in the middle of the traffic and restarted on its data dir; every acknowledged change is
 * there. Messages queued for an inactive agent count as acknowledged when the host answers 202.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { startMobileHost } from "../mobility/helpers.ts";

const AGENTS = 6;
const SENDERS_PER_AGENT = 2;

Deno.test("every increment a host answered 200 survives a SIGKILL in the middle of the traffic", async () => {
  try {
    const port = freePort();
    const host = await startMobileHost("alpha", { port });
    const ids: string[] = [];
    for (let i = 0; i < AGENTS; i++) ids.push((await host.client.createAgent({ type: "test.traveller" })).id);

    // The ledger: the highest count each agent acknowledged.
    const acknowledged = new Map(ids.map((id) => [id, 0]));
    let stop = false;
    const senders = ids.flatMap((id) =>
      Array.from({ length: SENDERS_PER_AGENT }, async () => {
        for (let n = 0; !stop && n < 100_000; n++) {
          try {
            const { count } = await host.client.send(id, { kind: "increment", args: { by: 1 } }) as {
              count: number;
            };
            acknowledged.set(id, Math.max(acknowledged.get(id)!, count));
          } catch {
            return; // the host is gone
          }
        }
      })
    );
    await eventually("traffic under way", () => [...acknowledged.values()].every((c) => c >= 20), 20_000, 5);
    await host.kill();
    stop = true;
    await Promise.all(senders);

    const again = await startMobileHost("alpha", { port, dataDir: host.dataDir });
    for (const id of ids) {
      const { count } = await again.client.send(id, { kind: "get" }) as { count: number };
      assert(
        count >= acknowledged.get(id)!,
        `${id}: ${acknowledged.get(id)} increments were acknowledged, ${count} survived the crash`,
      );
    }
  } finally {
    await stopAll();
  }
});

Deno.test("messages queued for an inactive agent survive a SIGKILL right after its wake-up", async () => {
  try {
    const port = freePort();
    const host = await startMobileHost("alpha", { port });
    const { id } = await host.client.createAgent({ type: "test.traveller" });
    await host.client.send(id, { kind: "set", args: { count: 100 } });
    await host.client.deactivate(id, { activateOnMessage: false, queueMessagesWhenInactive: true });
    for (let i = 0; i < 20; i++) {
      const answer = await host.client.send(id, { kind: "increment", args: { by: 1 } }) as {
        queued?: boolean;
      };
      assertEquals(answer.queued, true, "an increment to the inactive agent is queued");
    }
    await host.client.activate(id);
    await eventually("the queued increments delivered", async () => {
      const { count } = await host.client.send(id, { kind: "get" }) as { count: number };
      return count === 120;
    });
    await host.kill();

    const again = await startMobileHost("alpha", { port, dataDir: host.dataDir });
    const { count } = await again.client.send(id, { kind: "get" }) as { count: number };
    assertEquals(count, 120, "the 20 queued increments after the crash");
  } finally {
    await stopAll();
  }
});

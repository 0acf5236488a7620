/**
 * Forwarding records have a bounded life (--forwarding-retention): within it a message sent to the
 * host an agent left follows the agent; after it the old host forgets and answers agent_not_found.
 */
import { assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { startMobileHost } from "./helpers.ts";

Deno.test("a forwarding record follows the agent for --forwarding-retention, then is forgotten", async () => {
  try {
    const [a, b] = await Promise.all([
      startMobileHost("alpha", { args: ["--forwarding-retention", "3"] }),
      startMobileHost("beta"),
    ]);
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "set", args: { count: 4 } });
    await a.client.dispatch(id, b.url);
    // Within the retention the old host still knows where the agent went.
    assertEquals(await a.client.getAgent(id), { id, movedTo: b.url });
    assertEquals((await a.client.send(id, { kind: "get" }) as { count: number }).count, 4);
    // Then it forgets: the record is pruned, the agent lives on where it went.
    await eventually(
      "alpha forgets where the agent went",
      async () => {
        try {
          await a.client.getAgent(id);
          return false;
        } catch (err) {
          return (err as { code?: string }).code === "agent_not_found";
        }
      },
      15_000,
      250,
    );
    await assertRejectsCode(() => a.client.send(id, { kind: "get" }), "agent_not_found");
    assertEquals((await b.client.send(id, { kind: "get" }) as { count: number }).count, 4);
  } finally {
    await stopAll();
  }
});

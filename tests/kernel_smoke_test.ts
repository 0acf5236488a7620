import { assertEquals } from "./helpers/assert.ts";
import { testHost } from "./helpers/in_process.ts";

Deno.test("a counter paglet is created, messaged, deactivated and woken by a message", async () => {
  await using t = await testHost();
  const { id } = await t.client.createAgent({ type: "demo.counter", state: { count: 1 } });
  assertEquals(await t.client.send(id, { kind: "increment", args: { by: 2 } }), { count: 3 });
  await t.client.deactivate(id);
  assertEquals((await t.client.getAgent(id)).status, "inactive");
  assertEquals(await t.client.send(id, { kind: "get" }), { count: 3 });
  assertEquals((await t.client.getAgent(id)).status, "active");
});

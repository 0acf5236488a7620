/** `context.waitForHost(url)` joins a host that is not a member yet (two in-process hosts). */
import { assertEquals } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";

const PROBE = new URL("./fixtures/mesh_agents.ts", import.meta.url).href;

Deno.test("waiting for a host by URL contacts it, so both hosts end up in one mesh", async () => {
  const fast = { gossipIntervalMs: 100, offlineAfterMs: 1000, modules: [PROBE] };
  await using a = await testHost({ name: "a", ...fast });
  await using b = await testHost({ name: "b", ...fast });
  const probe = await a.client.createAgent({ type: "test.mesh.probe" });
  assertEquals(await a.client.send(probe.id, { kind: "isHostOnline", args: { host: "b" } }), {
    online: false,
  });
  assertEquals(
    await a.client.send(probe.id, { kind: "waitForHost", args: { host: b.host.url, timeoutMs: 5000 } }),
    { online: true },
  );
  assertEquals(await a.client.send(probe.id, { kind: "isHostOnline", args: { host: "b" } }), {
    online: true,
  });
  await eventually("b to list a", () => b.host.remote!.isOnline("a"));
});

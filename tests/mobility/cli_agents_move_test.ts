/** `paglets agents dispatch|clone|retract` move agents between two real hosts. */
import { assertEquals } from "../helpers/assert.ts";
import { jsonOf, paglets } from "../helpers/cli.ts";
import { testHost } from "../helpers/in_process.ts";

Deno.test("paglets agents dispatch, clone and retract move a counter between hosts with its state", async () => {
  await using a = await testHost({ name: "a" });
  await using b = await testHost({ name: "b" });
  const { id } = await a.client.createAgent({ type: "demo.counter", state: { count: 7 } });

  const moved = jsonOf<{ id: string; host: string }>(
    await paglets(["agents", "dispatch", id, b.host.url, "--entry", a.host.url, "--json"]),
  );
  assertEquals(moved, { id, host: b.host.url });
  assertEquals(await b.client.send(id, { kind: "get" }), { count: 7 });

  const copy = jsonOf<{ id: string; host: string }>(
    await paglets(["agents", "clone", id, "--entry", b.host.url, "--json"]),
  );
  assertEquals(copy.host, b.host.url);
  assertEquals(await b.client.send(copy.id, { kind: "get" }), { count: 7 });

  const back = jsonOf<{ id: string; host: string }>(
    await paglets(["agents", "retract", id, b.host.url, "--entry", a.host.url, "--json"]),
  );
  assertEquals(back, { id, host: a.host.url });
  assertEquals(await a.client.send(id, { kind: "get" }), { count: 7 });
});

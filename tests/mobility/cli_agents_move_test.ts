/** `paglets agents dispatch|clone|retract` move agents between two real hosts; commands follow a moved agent. */
import { assert, assertEquals } from "../helpers/assert.ts";
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

Deno.test("paglets agents deactivate, activate, dispatch and rm follow an agent that moved on", async () => {
  await using a = await testHost({ name: "a" });
  await using b = await testHost({ name: "b" });
  const { id } = await a.client.createAgent({ type: "demo.counter", state: { count: 7 } });
  const entryA = ["--entry", a.host.url];
  const followed = { foundAt: b.host.url, movedThrough: [a.host.url] };
  const statusOn = async (h: typeof a) => (await h.client.getAgent(id)).status;
  jsonOf(await paglets(["agents", "dispatch", id, b.host.url, ...entryA, "--json"]));

  const inactive = jsonOf(await paglets(["agents", "deactivate", id, ...entryA, "--json"]));
  assertEquals([inactive.status, inactive.host, inactive.foundAt, inactive.movedThrough], [
    "inactive",
    b.host.url,
    followed.foundAt,
    followed.movedThrough,
  ]);
  assertEquals(await statusOn(b), "inactive");

  const activated = await paglets(["agents", "activate", id, ...entryA]);
  assertEquals(
    [activated.code, activated.stdout],
    [0, `${id} active (found at ${b.host.url})\n`],
    activated.stderr,
  );
  assertEquals(await statusOn(b), "active");
  assertEquals(await b.client.send(id, { kind: "get" }), { count: 7 });

  // Back to a through a's own forwarding record: b, where the agent is, does the dispatch.
  const home = jsonOf(await paglets(["agents", "dispatch", id, a.host.url, ...entryA, "--json"]));
  assertEquals(home, { id, host: a.host.url, ...followed });
  assertEquals(await a.client.send(id, { kind: "get" }), { count: 7 });
  assertEquals(await b.client.getAgent(id), { id, movedTo: a.host.url });

  // Not followed (a holds it): the answer is as before, with nothing added.
  assertEquals(jsonOf(await paglets(["agents", "dispatch", id, b.host.url, ...entryA, "--json"])), {
    id,
    host: b.host.url,
  });
  const removed = jsonOf(await paglets(["agents", "rm", id, ...entryA, "--json"]));
  assertEquals(removed, { ok: true, id, ...followed });
  const gone = await b.client.getAgent(id).then(() => "still there", (err) => String(err.code));
  assertEquals(gone, "agent_not_found");

  const nobody = await paglets(["agents", "rm", "ag_nobody", ...entryA]);
  assertEquals(nobody.code, 1, nobody.stderr);
  assert(nobody.stderr.includes("[agent_not_found]"), nobody.stderr);
});

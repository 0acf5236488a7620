/**
 * Between hosts, messages travel as CBOR: a paglet's bigint arrives as the same bigint, in binary, and
 * comes back the same way. curl users keep JSON on the same route.
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { AgentRuntime } from "../../host/kernel/agent_runtime.ts";
import { HostClient } from "../../host/client.ts";
import { CBOR_TYPE } from "../../host/http/agent_routes.ts";

Deno.test("a 160 KB bigint in a message crosses hosts as CBOR and its reply comes back as CBOR", async () => {
  await using a = await testHost({ name: "a", gossipIntervalMs: 100 });
  await using b = await testHost({ name: "b", gossipIntervalMs: 100, peers: [a.host.url] });
  await eventually("a knows b", () => a.host.remote!.isOnline("b"));
  const { id } = await b.client.createAgent({ type: "demo.counter" });
  const big = -(7n ** 460_000n); // ~1.3 million bits

  const seen: { contentType: string | null; accept: string | null; bytes: number }[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith(`/v1/agents/${id}/messages`)) {
      const headers = new Headers(init?.headers);
      const body = init?.body as Uint8Array | undefined;
      seen.push({
        contentType: headers.get("content-type"),
        accept: headers.get("accept"),
        bytes: body?.length ?? 0,
      });
    }
    return realFetch(input, init);
  };
  try {
    const message = AgentRuntime.message({ kind: "echo", args: { n: big, note: "sums" } });
    const reply = await a.host.remote!.send(id, b.host.url, message, {}) as { n: bigint; note: string };
    assertEquals(reply, { n: big, note: "sums" });
  } finally {
    globalThis.fetch = realFetch;
  }
  assertEquals(seen.length, 1);
  assertEquals([seen[0].contentType, seen[0].accept], [CBOR_TYPE, CBOR_TYPE]);
  // Binary: about 1.3 Mbit / 8 bytes, where decimal text would take ~2.5 times as many.
  assert(seen[0].bytes < 180_000, `${seen[0].bytes} bytes`);

  // The same route still speaks JSON (tagged bigints) to curl users.
  const viaJson = await b.client.send(id, { kind: "echo", args: { n: 12345678901234567890123n } });
  assertEquals(viaJson, { n: 12345678901234567890123n });
});

Deno.test("a client asks for a binary answer: bytes and bigints come back as they are, errors as before", async () => {
  await using a = await testHost({ name: "a" });
  const { id } = await a.client.createAgent({ type: "demo.counter" });
  const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
  const n = 3n ** 4_000n;
  const reply = await a.client.send(id, { kind: "echo", args: { bytes, n } }, { binary: true }) as {
    bytes: Uint8Array;
    n: bigint;
  };
  assert(reply.bytes instanceof Uint8Array, "bytes stay bytes");
  assertEquals([reply.bytes.length, reply.bytes[250], reply.bytes[251], reply.n], [300_000, 250, 0, n]);
  // A oneway message's 202 answer, and an error (still JSON), through the same option.
  assertEquals(await a.client.send(id, { kind: "echo", args: {} }, { binary: true, oneway: true }), {
    accepted: true,
  });
  await assertRejectsCode(
    () => a.client.send("ag_nosuchagentxxxxxxxx", { kind: "echo" }, { binary: true }),
    "agent_not_found",
  );
});

Deno.test("a binary request answered with JSON (a host that does not speak CBOR) is read as JSON", async () => {
  let accept: string | null = null;
  const client = new HostClient("http://127.0.0.1:1", {
    apiKey: null,
    transport: (request) => {
      accept = request.headers.get("accept");
      return Promise.resolve(Response.json({ reply: { n: { $bigint: "123456789012345678901" } } }));
    },
  });
  assertEquals(await client.send("ag_x", { kind: "get" }, { binary: true }), { n: 123456789012345678901n });
  assertEquals(accept, CBOR_TYPE);
});

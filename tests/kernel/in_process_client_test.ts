/**
 * A client that reaches its host in the same process (Host.handle as HostClient's transport), as the
 * CLI does with its embedded host; and agent workers started before the host (early_workers.ts).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { testHost } from "../helpers/in_process.ts";
import { HostClient } from "../../host/client.ts";
import { PagletError } from "../../agents/errors.ts";
import { endEarlyWorkers, startWorkersEarly, takeEarlyWorker } from "../../host/worker/early_workers.ts";

/** Nothing listens on 127.0.0.1:9 (discard): a request that used the network would fail. */
const NOWHERE = "http://127.0.0.1:9";

async function failure(p: Promise<unknown>): Promise<PagletError> {
  try {
    await p;
  } catch (err) {
    assert(err instanceof PagletError, `a PagletError, got ${err}`);
    return err;
  }
  throw new Error("expected the request to fail");
}

Deno.test("a client with the host's own transport works without a connection", async () => {
  await using h = await testHost();
  const client = new HostClient(NOWHERE, { apiKey: null, transport: (r) => h.host.handle(r) });
  const { id } = await client.createAgent({ type: "demo.counter" });
  await client.send(id, { kind: "increment", args: { by: 3 } });
  assertEquals(await client.send(id, { kind: "get" }), { count: 3 });
  assertEquals((await failure(client.createAgent({ type: "no.such.type" }))).code, "unknown_agent_type");
  await client.dispose(id);
  assertEquals((await failure(client.send(id, { kind: "get" }))).code, "agent_not_found");
  // The same client without the transport goes to the network, where nothing answers.
  const remote = new HostClient(NOWHERE, { apiKey: null });
  assertEquals((await failure(remote.health())).code, "host_unreachable");
});

Deno.test("an in-process request times out like one over HTTP", async () => {
  await using h = await testHost();
  const client = new HostClient(h.host.url, { apiKey: null, transport: (r) => h.host.handle(r) });
  const { id: counter } = await client.createAgent({ type: "demo.counter" });
  const { id: pinger } = await client.createAgent({ type: "demo.pinger" });
  // The host would wait a minute; the client gives up after 30 ms (5,000 sequential paglet-to-paglet
  // sends cannot finish sooner).
  const ping = { kind: "ping", args: { target: counter, count: 5_000 }, timeoutMs: 60_000 };
  const err = await failure(client.request("POST", `/v1/agents/${pinger}/messages`, ping, 30));
  assertEquals(err.code, "timeout");
  assert(err.message.includes("timed out after 30 ms"), err.message);
});

Deno.test("agent workers started early are taken over by the next host; leftovers can be ended", async () => {
  startWorkersEarly(1);
  {
    await using h = await testHost({ workers: 1 });
    assertEquals(takeEarlyWorker(), undefined, "the host took the early worker");
    const { id } = await h.client.createAgent({ type: "demo.counter" });
    await h.client.send(id, { kind: "increment", args: { by: 1 } });
    assertEquals(await h.client.send(id, { kind: "get" }), { count: 1 });
  }
  startWorkersEarly(2);
  endEarlyWorkers();
  assertEquals(takeEarlyWorker(), undefined, "ended workers are not handed out");
});

/** HostClient's errors for a request that got no answer: the caller's abort, the timeout. */
import { assert, assertEquals, assertRejectsCode } from "../tests/helpers/assert.ts";
import { HostClient } from "./client.ts";

/** A server that takes requests and answers none until it stops. */
function silentServer() {
  const hang = Promise.withResolvers<Response>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => hang.promise);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      hang.resolve(new Response(null, { status: 503 }));
      await server.shutdown();
    },
  };
}

Deno.test("a request the caller aborts fails with the caller's reason, not as an unreachable host", async () => {
  await using server = silentServer();
  const client = new HostClient(server.url, { timeoutMs: 10_000 });
  const controller = new AbortController();
  const reason = new Error("the caller gave up"); // as a script's Ctrl-C aborts (agents/interruption.ts)
  const request = client.fetch("GET", "/v1/events/stream", { signal: controller.signal });
  controller.abort(reason);
  let thrown: unknown;
  await request.catch((err) => thrown = err);
  assertEquals(thrown, reason);
});

Deno.test("a request with a caller's signal that gets no answer head times out as such", async () => {
  await using server = silentServer();
  const client = new HostClient(server.url, { timeoutMs: 200 });
  const err = await assertRejectsCode(
    () => client.fetch("GET", "/v1/events/stream", { signal: new AbortController().signal }),
    "timeout",
  );
  assert(/timed out after 200 ms/.test(err.message), err.message);
});

Deno.test("an answer that is no paglets host's JSON is the answering server's fault: host_unreachable, not malformed_json", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<html>a web page</html>", { headers: { "content-type": "text/html" } }),
  );
  try {
    const client = new HostClient(`http://127.0.0.1:${server.addr.port}`);
    const err = await assertRejectsCode(
      () => client.request("POST", "/v1/transfers/preflight", {}),
      "host_unreachable",
    );
    assert(err.message.includes("is no JSON"), err.message);
  } finally {
    await server.shutdown();
  }
});

Deno.test("an upload bounded by its caller's signal alone runs as long as it moves, past the request timeout", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => Response.json({ received: (await request.arrayBuffer()).byteLength }),
  );
  try {
    const client = new HostClient(`http://127.0.0.1:${server.addr.port}`, { timeoutMs: 300 });
    // A slow link: ten pieces, 100 ms apart, about three times the request timeout in all.
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 10) return controller.close();
        await new Promise((resolve) => setTimeout(resolve, 100));
        controller.enqueue(new Uint8Array(1000));
        sent++;
      },
    });
    const res = await client.fetch("POST", "/upload", {
      body,
      signal: new AbortController().signal,
      signalOnly: true,
    });
    assertEquals(await res.json(), { received: 10_000 });
  } finally {
    await server.shutdown();
  }
});

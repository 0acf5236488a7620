import assert from "node:assert/strict";
import { plainRequest } from "./plain_http.ts";
import { HostClient } from "./client.ts";
import { PagletError } from "../agents/errors.ts";

const decoder = new TextDecoder();
const text = (body: Uint8Array) => decoder.decode(body);
const signal = () => AbortSignal.timeout(5000);

/** A Deno.serve server on a free port, for the duration of `fn`. */
async function withServer(
  handler: (request: Request) => Response | Promise<Response>,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/**
 * A TCP server that answers each connection with `reply` (raw bytes, after reading the request's
 * head), then closes it; or never answers, with `reply` null.
 */
async function withRawServer(reply: string[] | null, fn: (url: string) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open: Deno.Conn[] = [];
  let served = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      open.push(conn);
      const buffer = new Uint8Array(4096);
      await conn.read(buffer).catch(() => null);
      if (reply === null) continue;
      const answer = reply[Math.min(served++, reply.length - 1)];
      await conn.write(new TextEncoder().encode(answer)).catch(() => {});
      conn.close();
    }
  })();
  try {
    await fn(`http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  } finally {
    listener.close();
    for (const conn of open) {
      try {
        conn.close();
      } catch { /* closed already */ }
    }
    await serving.catch(() => {});
  }
}

Deno.test("a plain request carries its method, headers and body, and reads a sized answer", async () => {
  await withServer(async (request) => {
    const body = await request.text();
    return Response.json({
      method: request.method,
      path: new URL(request.url).pathname + new URL(request.url).search,
      type: request.headers.get("content-type"),
      auth: request.headers.get("authorization"),
      connection: request.headers.get("connection"),
      body,
    }, { status: 201 });
  }, async (url) => {
    const answer = await plainRequest(`${url}/v1/things?x=1`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: '{"n":"π"}',
      signal: signal(),
    });
    assert.equal(answer.status, 201);
    assert.deepEqual(JSON.parse(text(answer.body)), {
      method: "POST",
      path: "/v1/things?x=1",
      type: "application/json",
      auth: "Bearer k",
      connection: "close",
      body: '{"n":"π"}',
    });
  });
});

Deno.test("a plain request reads a chunked answer, and one that ends when the server closes", async () => {
  const pieces = ["a".repeat(40_000), "b".repeat(3), "c".repeat(70_000)];
  await withServer(() => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
        controller.close();
      },
    });
    return new Response(stream);
  }, async (url) => {
    const answer = await plainRequest(url, { method: "GET", headers: {}, signal: signal() });
    assert.equal(text(answer.body), pieces.join(""));
  });
  const chunked =
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n";
  await withRawServer([chunked], async (url) => {
    const answer = await plainRequest(url, { method: "GET", headers: {}, signal: signal() });
    assert.equal(text(answer.body), "hello world");
  });
  await withRawServer(["HTTP/1.1 404 Not Found\r\nx-a: b\r\n\r\nno such thing"], async (url) => {
    const answer = await plainRequest(url, { method: "GET", headers: {}, signal: signal() });
    assert.deepEqual([answer.status, text(answer.body)], [404, "no such thing"]);
  });
});

Deno.test("a plain request fails on a cut answer, a bad header, https, and when its signal ends", async () => {
  await withRawServer(["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf"], async (url) => {
    await assert.rejects(
      plainRequest(url, { method: "GET", headers: {}, signal: signal() }),
      /closed the connection in the middle/,
    );
  });
  await withRawServer(["garbage\r\n\r\n"], async (url) => {
    await assert.rejects(
      plainRequest(url, { method: "GET", headers: {}, signal: signal() }),
      /not an HTTP\/1.1/,
    );
  });
  await assert.rejects(
    plainRequest("http://127.0.0.1:1/", { method: "GET", headers: { x: "a\r\nb: c" }, signal: signal() }),
    TypeError,
  );
  await assert.rejects(
    plainRequest("https://127.0.0.1:1/", { method: "GET", headers: {}, signal: signal() }),
    TypeError,
  );
  await withRawServer(null, async (url) => {
    await assert.rejects(
      plainRequest(url, { method: "GET", headers: {}, signal: AbortSignal.timeout(200) }),
      (err: Error) => err.name === "TimeoutError",
    );
  });
});

Deno.test("a one-shot client's JSON requests: answers, error codes, a starting host asked again, no host", async () => {
  const starting = JSON.stringify({ error: { code: "starting", message: "the host is starting" } });
  const found = JSON.stringify({ agents: [{ id: "ag_x", n: { $bigint: "12345678901234567890" } }] });
  await withRawServer([
    `HTTP/1.1 503 Service Unavailable\r\ncontent-length: ${starting.length}\r\n\r\n${starting}`,
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${found.length}\r\n\r\n${found}`,
  ], async (url) => {
    const client = new HostClient(url, { apiKey: null, oneShot: true, timeoutMs: 5000 });
    assert.deepEqual(await client.listAgents(), { agents: [{ id: "ag_x", n: 12345678901234567890n }] });
  });
  const missing = JSON.stringify({ error: { code: "agent_not_found", message: "No agent ag_y" } });
  await withRawServer(
    [`HTTP/1.1 404 Not Found\r\ncontent-length: ${missing.length}\r\n\r\n${missing}`],
    async (url) => {
      const client = new HostClient(url, { apiKey: null, oneShot: true });
      await assert.rejects(client.getAgent("ag_y"), (err: PagletError) => err.code === "agent_not_found");
    },
  );
  await withRawServer(null, async (url) => {
    const client = new HostClient(url, { apiKey: null, oneShot: true, timeoutMs: 200 });
    await assert.rejects(client.health(), (err: PagletError) => err.code === "timeout");
  });
  const nobody = new HostClient("http://127.0.0.1:1", {
    apiKey: null,
    oneShot: true,
    unreachableHint: "start one",
  });
  await assert.rejects(
    nobody.listAgents(),
    (err: PagletError) => err.code === "host_unreachable" && err.message.endsWith("; start one"),
  );
});

/**
 * The connection gate with real sockets and Deno's HTTP server: the connection cap answers 503,
 * a silent or slow first head is closed after the header timeout, an idle keep-alive connection
 * after the idle timeout, a request in progress is never cut, a head over the limit is 431, and an
 * error answer that leaves a declared body unread ends its connection.
 */
import { ConnectionGate, type GateEvent } from "../../host/http/connection_gate.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { readUntilClosed } from "../helpers/raw_http.ts";

const encoder = new TextEncoder();

/** Reads until the peer closes (or `limitMs` passes), then closes the connection. */
async function readToEnd(conn: Deno.Conn, limitMs = 5000): Promise<{ text: string; closed: boolean }> {
  try {
    return await readUntilClosed(conn, limitMs);
  } finally {
    try {
      conn.close();
    } catch { /* the peer closed it */ }
  }
}

Deno.test("the gate caps connections, times out silent and idle ones, and never cuts a request in progress", async (t) => {
  const events: GateEvent[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const gate = new ConnectionGate(
    "127.0.0.1",
    0,
    async (request) => {
      if (new URL(request.url).pathname === "/slow") await released;
      return new Response("ok");
    },
    () => new Response("error", { status: 500 }),
    { maxConnections: 3, headerTimeoutMs: 300, idleTimeoutMs: 300, maxHeaderBytes: 1024 },
    (event) => events.push(event),
  );
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port: gate.addr.port });
  try {
    await t.step("a first head over the limit answers 431 headers_too_large", async () => {
      const conn = await connect();
      await conn.write(encoder.encode(`GET / HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(2000)}\r\n\r\n`));
      const { text } = await readToEnd(conn);
      assert(text.startsWith("HTTP/1.1 431"), text);
      assert(text.includes('"headers_too_large"'), text);
    });

    await t.step("past the cap a connection is answered 503 too_many_connections", async () => {
      // A request in progress on one connection, a silent one, an idle one: three, the cap.
      const slow = await connect();
      await slow.write(encoder.encode("GET /slow HTTP/1.1\r\nhost: x\r\n\r\n"));
      const silent = await connect();
      const partial = await connect();
      await partial.write(encoder.encode("GET / HTTP/1.1\r\nho"));
      for (let i = 0; gate.open < 3 && i < 200; i++) await new Promise((r) => setTimeout(r, 5));
      assertEquals(gate.open, 3);
      const refused = await readToEnd(await connect());
      assert(refused.text.startsWith("HTTP/1.1 503"), refused.text);
      assert(refused.text.includes('"too_many_connections"'), refused.text);
      assert(events.some((e) => e.kind === "refused"));

      // The silent and the partial head are closed by the header timeout, without an answer.
      const [a, b] = await Promise.all([readToEnd(silent), readToEnd(partial)]);
      assertEquals([a, b], [{ text: "", closed: true }, { text: "", closed: true }]);

      // The slow request outlives both timeouts and is answered in full.
      release();
      const answer = await readToEnd(slow);
      assert(answer.text.startsWith("HTTP/1.1 200") && answer.text.endsWith("ok"), answer.text);
      assert(answer.closed, "closed after the idle timeout");
    });

    await t.step("an idle keep-alive connection is closed after the idle timeout", async () => {
      const conn = await connect();
      await conn.write(encoder.encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      const { text, closed } = await readToEnd(conn);
      assert(text.startsWith("HTTP/1.1 200"), text);
      assert(closed);
      for (let i = 0; gate.open > 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 5));
      assertEquals(gate.open, 0);
    });
  } finally {
    await gate.closeAll();
  }
});

Deno.test("an error answer that leaves a declared body unread ends the connection once it is sent", async (t) => {
  // Idle connections stay (an hour): only the rule under test closes one.
  const gate = new ConnectionGate(
    "127.0.0.1",
    0,
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/refuse") return new Response("refused", { status: 401 });
      if (path === "/async-refuse") return Promise.resolve(new Response("refused", { status: 503 }));
      return new Response("ok");
    },
    () => new Response("error", { status: 500 }),
    { maxConnections: 10, headerTimeoutMs: 3_600_000, idleTimeoutMs: 3_600_000, maxHeaderBytes: 1024 },
    () => {},
  );
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port: gate.addr.port });
  try {
    await t.step("a refusal of a 100 MB body the client has barely begun to send", async () => {
      for (const path of ["/refuse", "/async-refuse"]) {
        const conn = await connect();
        await conn.write(
          encoder.encode(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\n\r\nabc`),
        );
        const { text, closed } = await readToEnd(conn, 20_000);
        assert(closed, `${path}: the connection stayed open`);
        assert(/^HTTP\/1\.1 (401|503)/.test(text) && text.includes("refused"), text);
        assert(/connection: close/i.test(text), text);
      }
    });

    await t.step("a head over the limit that declares a body", async () => {
      const conn = await connect();
      await conn.write(
        encoder.encode(
          `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\nx-big: ${"a".repeat(2000)}\r\n\r\n`,
        ),
      );
      const { text, closed } = await readToEnd(conn, 20_000);
      assert(closed);
      assert(text.startsWith("HTTP/1.1 431") && text.includes('"headers_too_large"'), text);
    });

    await t.step(
      "an answer after which the connection is kept: a success, or a refusal without a body",
      async () => {
        const conn = await connect();
        // Three requests at once; the last asks the gate to close after it, so the read ends.
        await conn.write(encoder.encode(
          "POST /ok HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}" +
            "GET /refuse HTTP/1.1\r\nhost: x\r\n\r\n" +
            "GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        ));
        const { text, closed } = await readToEnd(conn, 20_000);
        assert(closed);
        assertEquals(
          [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])),
          [200, 401, 200],
          text,
        );
      },
    );
  } finally {
    await gate.closeAll();
  }
});

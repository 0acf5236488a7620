/**
 * The connection gate with real sockets and Deno's HTTP server: the connection cap answers 503,
 * a silent or slow first head is closed after the header timeout, an idle keep-alive connection
 * after the idle timeout, a request in progress is never cut, and a head over the limit is 431.
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

/**
 * A peer that refuses this host's gossip (422: its record is past the peer's limits, say) keeps the
 * host from joining through it: said once, on stderr and as a `mesh-gossip-refused` event.
 */
import { assertEquals } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { eventData, fakePeer, FAST_MESH, moreRounds, warnings } from "./helpers.ts";
import { close, connect, readUntilClosed } from "../helpers/raw_http.ts";

Deno.test("a peer that refuses this host's gossip with 422 is said once, on stderr and as an event", async () => {
  await using refusing = fakePeer(() =>
    Response.json({
      error: { code: "invalid_request", message: "Invalid gossip request: records.0.tags: too many" },
    }, { status: 422 })
  );
  try {
    const host = await startHost({ name: "refused", args: [...FAST_MESH, "--peer", refusing.url] });
    await eventually("the refusal to be said", () => warnings(host, refusing.url).length > 0);
    // Refused at rounds 1, 2, 4 and 8 (the seed's backoff): said after the first only.
    await eventually("the seed to be tried 4 times", () => refusing.requests() >= 4, 15_000);
    await moreRounds(host, 2);
    assertEquals(warnings(host, refusing.url), [
      `warning: ${refusing.url} refuses this host's gossip (Invalid gossip request: records.0.tags: too many): ` +
      "this host reaches the mesh only through others",
    ]);
    assertEquals((await eventData(host, "mesh-gossip-refused")).map((d) => d.url), [refusing.url]);
  } finally {
    await stopAll();
  }
});

Deno.test("a keyless seed that refuses the name this host used for it is said to refuse, not to be silent", async () => {
  try {
    const seed = await startHost({ name: "seed", args: FAST_MESH });
    // A name of the seed's machine that it does not take for its own (browser_guard.ts): it answers
    // 403 forbidden. The name resolves through a stand-in: the URL's host is what the seed reads.
    const port = new URL(seed.url).port;
    await using proxy = fakePeer(async (request) => {
      // Sent on as it came, but for the name it was sent to (fetch sets its own Host header).
      const body = new Uint8Array(await request.arrayBuffer());
      const url = new URL(request.url);
      const head =
        `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: alias.example:${port}\r\n` +
        `content-type: ${request.headers.get("content-type") ?? "application/json"}\r\n` +
        `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
      const conn = await connect(seed);
      try {
        await conn.write(new Uint8Array([...new TextEncoder().encode(head), ...body]));
        const { text } = await readUntilClosed(conn, 5000);
        const [top, rest] = [
          text.slice(0, text.indexOf("\r\n\r\n")),
          text.slice(text.indexOf("\r\n\r\n") + 4),
        ];
        return new Response(rest, {
          status: Number(top.split(" ")[1]),
          headers: { "content-type": "application/json" },
        });
      } finally {
        close(conn);
      }
    });
    const host = await startHost({ name: "joiner", args: [...FAST_MESH, "--peer", proxy.url] });
    await eventually("the refusal to be said", () => warnings(host, proxy.url).length > 0);
    await eventually("the seed to be tried 4 times", () => proxy.requests() >= 4, 15_000);
    const said = warnings(host, proxy.url);
    assertEquals(said.length, 1, said.join("\n"));
    assertEquals(
      said[0].includes("refuses this host's gossip") && said[0].includes("no API key"),
      true,
      said[0],
    );
    assertEquals(await eventData(host, "mesh-seed-silent"), []);
  } finally {
    await stopAll();
  }
});

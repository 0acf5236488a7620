/**
 * A forwarded message's reply is read for as long as it keeps arriving: its time bounds the answer's
 * head, not the reading of a large reply over a slow link. Host b is reached through a relay that
 * passes b's answers on at 1 MB/s (a slow link, made in the test: every host of the mesh knows b by
 * the relay's address, its `--public-url`).
 */
import { assertEquals } from "../helpers/assert.ts";
import { freePort, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { FAST_MESH, PROBE_MODULE, seesAllOnline } from "./helpers.ts";

/** Bytes per second the relay passes from the host to its clients, in pieces of 64 KiB. */
const RATE = 1_000_000;
const PIECE = 64 * 1024;

/** A TCP relay from `listenPort` to `targetPort` on 127.0.0.1, slow in the target's direction. */
function slowRelay(listenPort: number, targetPort: number): { close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: listenPort });
  const open = new Set<Deno.Conn>();
  const pump = async (from: Deno.Conn, to: Deno.Conn, slow: boolean) => {
    const buf = new Uint8Array(PIECE);
    try {
      for (let n = await from.read(buf); n !== null; n = await from.read(buf)) {
        for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
        // The link's rate: a piece takes its time (a network property, not a wait for a condition).
        if (slow) await new Promise((resolve) => setTimeout(resolve, (n * 1000) / RATE));
      }
    } catch { /* either side closed */ }
    for (const conn of [from, to]) {
      try {
        conn.close();
      } catch { /* closed already */ }
      open.delete(conn);
    }
  };
  (async () => {
    for await (const client of listener) {
      const target = await Deno.connect({ hostname: "127.0.0.1", port: targetPort }).catch(() => null);
      if (!target) {
        client.close();
        continue;
      }
      open.add(client).add(target);
      void pump(client, target, false);
      void pump(target, client, true);
    }
  })().catch(() => {/* closed */});
  return {
    close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
      open.clear();
    },
  };
}

Deno.test("a forwarded message's large reply arrives over a slow link after the message's time: its time bounds the answer's head", async () => {
  const bPort = freePort();
  const relayPort = freePort();
  const relay = slowRelay(relayPort, bPort);
  try {
    const a = await startHost({ name: "a", args: [...FAST_MESH, ...PROBE_MODULE] });
    await startHost({
      name: "b",
      port: bPort,
      args: [...FAST_MESH, ...PROBE_MODULE, "--public-url", `http://127.0.0.1:${relayPort}`, "--peer", a.url],
    });
    await eventually("a to see b", () => seesAllOnline(a, ["a", "b"]));
    const { id } = await a.client.createAgent({ type: "test.mesh.bulky" });
    await a.client.dispatch(id, "b");
    // Sent to a, which forwards it to b; b's answer of 3 MB takes 3 s through the relay, the
    // message may take 1.5 s. (The request to a itself waits as long as a does.)
    const chars = 3_000_000;
    const res = await fetch(`${a.url}/v1/agents/${id}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", host: "127.0.0.1" },
      body: JSON.stringify({ kind: "bulk", args: { chars }, timeoutMs: 1500 }),
    });
    const answer = await res.json() as { reply?: string; error?: { code: string; message: string } };
    assertEquals(res.status, 200, JSON.stringify(answer.error));
    assertEquals(answer.reply?.length, chars);
  } finally {
    relay.close();
    await stopAll();
  }
});

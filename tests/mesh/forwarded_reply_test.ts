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
import { TcpProxy } from "../helpers/tcp_proxy.ts";

Deno.test("a forwarded message's large reply arrives over a slow link after the message's time: its time bounds the answer's head", async () => {
  const bPort = freePort();
  // A slow link in front of b: its answers arrive at 1 MB/s.
  const relay = new TcpProxy(`http://127.0.0.1:${bPort}`, { port: freePort(), bytesPerSecond: 1_000_000 });
  try {
    const a = await startHost({ name: "a", args: [...FAST_MESH, ...PROBE_MODULE] });
    await startHost({
      name: "b",
      port: bPort,
      args: [...FAST_MESH, ...PROBE_MODULE, "--public-url", relay.url, "--peer", a.url],
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

/**
 * Forwarded messages over a slow link, made in the test: host b is reached through a relay (every
 * host of the mesh knows b by the relay's address, its `--public-url`). A forwarded message's reply
 * is read for as long as it keeps arriving: its time bounds the answer's head, not the reading of a
 * large reply (b's answers at 1 MB/s); and the forwarding host waits for the other host's own
 * timeout beyond the message's time (b's answers 300 ms late).
 */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
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

Deno.test("a forwarded message that times out gets the timeout of the host it ran on, also over a slow link", async () => {
  const bPort = freePort();
  // A link with latency in front of b: each piece of its answers arrives 300 ms late.
  const relay = new TcpProxy(`http://127.0.0.1:${bPort}`, { port: freePort(), answerDelayMs: 300 });
  try {
    const a = await startHost({ name: "a", args: FAST_MESH });
    await startHost({
      name: "b",
      port: bPort,
      args: [...FAST_MESH, "--public-url", relay.url, "--peer", a.url],
    });
    await eventually("a to see b", () => seesAllOnline(a, ["a", "b"]));
    const { id } = await a.client.createAgent({ type: "demo.busy" });
    await a.client.dispatch(id, "b");
    // Sent to a, which forwards it to b; the handler there never answers within the message's time.
    // b's own timeout (the agent did not reply) comes back to a 300 ms after the message's time: a
    // waits for it, and its caller gets it, not a's timeout of its request to b.
    const err = await assertRejectsCode(
      () => a.client.send(id, { kind: "burn", args: { ms: 3000 } }, { timeoutMs: 500 }),
      "timeout",
    );
    assert(err.message.includes(`Agent ${id} did not reply to 'burn'`), err.message);
  } finally {
    relay.close();
    await stopAll();
  }
});

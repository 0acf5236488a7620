import { ServiceClient } from "../../services/client.ts";
import { Recent } from "../../services/user_info/contract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { withTimeout } from "../../host/kernel/timeouts.ts";
import { serviceHost } from "./helpers.ts";
import { pagletsCommand } from "../helpers/cli.ts";
import { eventually } from "../helpers/in_process.ts";

type NotifyEvent = { id: number; kind: string; agentId?: string; data: Record<string, unknown> };

async function userNotifyEvents(url: string): Promise<NotifyEvent[]> {
  const res = await fetch(`${url}/v1/events?kind=user-notify&limit=2000`);
  return (await res.json()).events;
}

Deno.test("a paglet's notifyUser shows up as a user-notify event and in user-info recent", async () => {
  await using t = await serviceHost();
  const { id } = await t.client.createAgent({ type: "test.service-caller" });
  const reply = await t.client.send(id, {
    kind: "notify",
    args: {
      severity: "warning",
      title: "Disk low",
      text: "5% left",
      fields: { jobId: "job-7", volume: "/data" },
    },
  });
  assertEquals(reply, { delivered: true });
  const events = await userNotifyEvents(t.host.url);
  assertEquals(events.length, 1);
  assertEquals(events[0].agentId, id);
  const n = events[0].data;
  assertEquals([n.severity, n.title, n.text, n.jobId, n.sourceAgentId, n.hostName], [
    "warning",
    "Disk low",
    "5% left",
    "job-7",
    id,
    "test",
  ]);
  assertEquals(n.fields, { volume: "/data" });
  const recent = await ServiceClient.connect(t.host.url).call("user-info", Recent, {});
  assertEquals(recent.notifications.map((x) => x.title), ["Disk low"]);
});

Deno.test("notifyUser goes to the home host named in fields; an unreachable home returns false and keeps it here", async () => {
  await using home = await serviceHost({ name: "home" });
  await using worker = await serviceHost({ name: "worker" });
  const { id } = await worker.client.createAgent({ type: "test.service-caller" });
  const sent = await worker.client.send(id, {
    kind: "notify",
    args: { severity: "info", title: "Result saved", fields: { homeHost: home.host.url, jobId: "j1" } },
  });
  assertEquals(sent, { delivered: true });
  const atHome = await userNotifyEvents(home.host.url);
  assertEquals(atHome.map((e) => [e.data.title, e.data.sourceAgentId, e.data.jobId]), [[
    "Result saved",
    id,
    "j1",
  ]]);
  assertEquals((await userNotifyEvents(worker.host.url)).length, 0);

  // A home that does not answer: the job goes on (false), the notification is kept locally.
  const unreachable = await worker.client.send(id, {
    kind: "notify",
    args: { severity: "error", title: "Job failed", fields: { homeHost: "http://127.0.0.1:9" } },
  });
  assertEquals(unreachable, { delivered: false });
  const kept = await userNotifyEvents(worker.host.url);
  assertEquals(kept.map((e) => e.data.title), ["Job failed"]);
  assert(typeof (kept[0].data.fields as Record<string, unknown>).deliveryError === "string");
  // A bad severity is a delivery failure too, never an exception in the paglet.
  assertEquals(await worker.client.send(id, { kind: "notify", args: { severity: "panic", title: "x" } }), {
    delivered: false,
  });
});

Deno.test("user-info stream publishes raw text as a user-stream event", async () => {
  await using t = await serviceHost();
  await ServiceClient.connect(t.host.url).callRaw("user-info", "stream", {
    streamId: "pi-1",
    text: "3.14159",
    target: "stdout",
  });
  const res = await fetch(`${t.host.url}/v1/events?kind=user-stream`);
  const events = (await res.json()).events as NotifyEvent[];
  assertEquals(events.map((e) => e.data), [{
    streamId: "pi-1",
    text: "3.14159",
    target: "stdout",
    hostName: "test",
  }]);
});

/** Reads JSON lines from a child's stdout, each with a deadline. */
class LineReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  async next(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#buffer.includes("\n")) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no line within ${timeoutMs} ms (got '${this.#buffer}')`)),
          Math.max(1, deadline - Date.now()),
        );
      });
      try {
        const { done, value } = await Promise.race([this.#reader.read(), timeout]);
        if (done) throw new Error(`stream ended before a line (got '${this.#buffer}')`);
        this.#buffer += value;
      } finally {
        clearTimeout(timer);
      }
    }
    const i = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, i);
    this.#buffer = this.#buffer.slice(i + 1);
    return line;
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

Deno.test("paglets follow --json replays kept notifications and prints new ones as they arrive", async () => {
  await using t = await serviceHost();
  const { id } = await t.client.createAgent({ type: "test.service-caller" });
  await t.client.send(id, {
    kind: "notify",
    args: { severity: "info", title: "Before", fields: { jobId: "j0" } },
  });
  const child = pagletsCommand(["follow", "--entry", t.host.url, "--json", "--since", "all"]).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const lines = new LineReader(child.stdout);
  try {
    const first = JSON.parse(await lines.next(30_000));
    assertEquals([first.kind, first.title, first.jobId, first.sourceAgentId], ["notify", "Before", "j0", id]);
    // Printed lines mean the live cursor is already set: whatever comes now is printed as well.
    await t.client.send(id, { kind: "notify", args: { severity: "error", title: "After", text: "boom" } });
    const second = JSON.parse(await lines.next(15_000));
    assertEquals([second.kind, second.severity, second.title, second.text], [
      "notify",
      "error",
      "After",
      "boom",
    ]);
  } finally {
    child.kill("SIGINT");
    const status = await withTimeout(child.status, 10_000, "follow did not exit on SIGINT").catch(
      async (err) => {
        child.kill("SIGKILL");
        await child.status;
        throw err;
      },
    );
    await lines.cancel();
    await stderr.cancel().catch(() => {});
    assertEquals(status.code, 0);
  }
});

/**
 * A TCP relay to `port` that can be cut as a partition cuts a link: `cut()` silences every
 * connection open then, for good (no byte passes either way, nothing is closed), and new ones
 * too until `heal()`.
 */
function cuttableRelay(port: number): { url: string; cut(): void; heal(): void; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let cut = false;
  const conns = new Set<Deno.Conn>();
  const dead = new WeakSet<Deno.Conn>();
  void (async () => {
    for await (const client of listener) {
      conns.add(client);
      if (cut) dead.add(client);
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => null);
      if (!upstream) {
        client.close();
        continue;
      }
      conns.add(upstream);
      const pass = () =>
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            if (!dead.has(client)) out.enqueue(chunk);
          },
        });
      void client.readable.pipeThrough(pass()).pipeTo(upstream.writable).catch(() => {});
      void upstream.readable.pipeThrough(pass()).pipeTo(client.writable).catch(() => {});
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    cut() {
      cut = true;
      for (const conn of conns) dead.add(conn);
    },
    heal() {
      cut = false;
    },
    close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
    },
  };
}

Deno.test("paglets follow takes a stream that went silent (no keepalive) for lost, and reconnects", async () => {
  // Keepalives every 300 ms: a silent stream is lost after 900 ms.
  await using t = await serviceHost({ sseKeepaliveMs: 300 });
  const relay = cuttableRelay(Number(new URL(t.host.url).port));
  const { id } = await t.client.createAgent({ type: "test.service-caller" });
  const child = pagletsCommand(["follow", "--entry", relay.url, "--timeout", "2", "--since", "all"]).spawn();
  const stderr = new LineReader(child.stderr);
  const lines = new LineReader(child.stdout);
  try {
    // Printed (replayed or live): follow is connected.
    await t.client.send(id, { kind: "notify", args: { severity: "info", title: "First" } });
    const first = await lines.next(30_000);
    assert(first.includes("First"), first);
    await eventually("follow's stream is open", () => t.host.eventStreams === 1, 30_000);
    relay.cut();
    const lost = await stderr.next(30_000);
    assert(lost.includes("lost; reconnecting"), lost);
    relay.heal();
    const back = await stderr.next(30_000);
    assert(back.includes("reconnected"), back);
    await t.client.send(id, { kind: "notify", args: { severity: "info", title: "Second" } });
    const second = await lines.next(30_000);
    assert(second.includes("Second"), second);
  } finally {
    child.kill("SIGINT");
    await child.status;
    await lines.cancel();
    await stderr.cancel();
    relay.close();
  }
});

Deno.test("paglets follow gives up opening a stream whose host does not answer within --timeout", async () => {
  // A host that answers everything but the stream, whose answer never comes.
  const hang = Promise.withResolvers<Response>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/v1/events/stream") return hang.promise;
    if (path === "/v1/events") return Response.json({ events: [], lastId: 0 });
    return Response.json({ ok: true });
  });
  try {
    const run = await pagletsCommand([
      "follow",
      "--entry",
      `http://127.0.0.1:${server.addr.port}`,
      "--timeout",
      "1",
    ])
      .output();
    const stderr = new TextDecoder().decode(run.stderr);
    assertEquals(run.code, 1, stderr);
    assert(stderr.includes("error [timeout]: GET") && stderr.includes("timed out after 1000 ms"), stderr);
  } finally {
    hang.resolve(new Response(null, { status: 503 }));
    await server.shutdown();
  }
});

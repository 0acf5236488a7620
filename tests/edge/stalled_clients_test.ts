/**
 * Clients that start something and stop halfway, against real host processes: request bodies that
 * stop arriving, event streams that are never read while events pour in, and a process that has
 * run out of file descriptors. None of them may hold a connection, memory or the process itself
 * for good: the host ends what is stuck, bounds what waits, answers what it cannot do with a code,
 * and serves again.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { answerOf, close, connect, healthOk, readUntilClosed, stillRunning } from "../helpers/raw_http.ts";

const encoder = new TextEncoder();

Deno.test("a request body that stops arriving ends its connection after the idle timeout, one read as a stream answered 504 timeout first", async () => {
  const held: Deno.Conn[] = [];
  try {
    // As many connections as the cap: while they are stuck, nobody else is served.
    const host = await startHost({
      name: "stalled-bodies",
      args: ["--idle-timeout-ms", "500", "--max-connections", "4"],
    });
    const heads = [
      // A small JSON body, read in one piece.
      'POST /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type":',
      // The message route, served in front of the app.
      "POST /v1/agents/ag_7gwxzqa6sc2mupw2gtok/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
      'Content-Length: 1000\r\n\r\n{"kind":',
      // A chunked body, streamed: one chunk, then nothing.
      "POST /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
      '8\r\n{"type":\r\n',
      // A large declared body, streamed.
      `PUT /v1/code HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000\r\n\r\n${"/".repeat(100_000)}`,
    ];
    for (const head of heads) {
      const conn = await connect(host);
      held.push(conn);
      await conn.write(encoder.encode(head));
    }
    // Each is closed by the host, well before this bound, though its client never leaves.
    const outcomes = await Promise.all(held.map((conn) => readUntilClosed(conn, 20_000)));
    outcomes.forEach(({ closed }, i) =>
      assert(closed, `the stalled body ${heads[i].slice(0, 40)} kept its connection`)
    );
    // The streamed ones (chunked, large) are given up by their reader, which answers before the end.
    for (const { text } of outcomes.slice(2)) {
      assertEquals(answerOf(text), { status: 504, code: "timeout" }, text);
      assert(text.includes("Request body stopped arriving: nothing came for 0.5 s"), text);
    }
    await eventually("health answers", () => healthOk(host), 10_000);
    assert(await stillRunning(host));
  } finally {
    for (const conn of held) close(conn);
    await stopAll();
  }
});

Deno.test("an event stream whose client does not read holds a bounded backlog, then delivers the newest", async () => {
  const conn: { value?: Deno.TcpConn } = {};
  try {
    const host = await startHost({ name: "unread-stream" });
    conn.value = await connect(host);
    await conn.value.write(
      encoder.encode("GET /v1/events/stream?kind=user-stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    );
    await eventually("the stream is open", async () => {
      const info = await (await fetch(`${host.url}/v1/host`)).json();
      return info.eventStreams === 1;
    });
    // About 100 MB of events while the client reads nothing: far more than the host keeps.
    const count = 12_000;
    const text = "x".repeat(8 * 1024);
    const produced = count * text.length;
    for (let i = 0; i < count; i++) {
      const response = await fetch(`${host.url}/v1/services/user-info/stream`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ streamId: String(i), text }),
      });
      assertEquals(response.status, 200, await response.text());
    }
    // Now the client reads: what waited for it, then the newest events, never all of them.
    const ids: number[] = [];
    let received = 0;
    let pending = "";
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(256 * 1024);
    const deadline = Date.now() + 60_000;
    while (ids.at(-1) !== count - 1 && Date.now() < deadline) {
      const n = await conn.value.read(buffer);
      if (n === null) break;
      received += n;
      pending += decoder.decode(buffer.subarray(0, n), { stream: true });
      const frames = pending.split("\n\n");
      pending = frames.pop()!;
      for (const frame of frames) {
        const match = /"streamId":"(\d+)"/.exec(frame);
        if (match) ids.push(Number(match[1]));
      }
    }
    assertEquals(ids.at(-1), count - 1, "the stream did not deliver the newest event");
    assert(ids.every((id, i) => i === 0 || id > ids[i - 1]), "events came out of order or twice");
    assert(
      received < produced / 2,
      `the host kept ${received} of ${produced} bytes of events for a client that did not read`,
    );
    assert(await stillRunning(host));
  } finally {
    if (conn.value) close(conn.value);
    await stopAll();
  }
});

Deno.test("the event log keeps the newest events that fit in 64 MiB, however large each is", async () => {
  try {
    const host = await startHost({ name: "large-events" });
    // 100 events of a megabyte of streamed text each: 2,000 of them would hold 2 GB.
    const text = "x".repeat(1024 * 1024);
    for (let i = 0; i < 100; i++) {
      const response = await fetch(`${host.url}/v1/services/user-info/stream`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ streamId: String(i), text }),
      });
      assertEquals(response.status, 200, await response.text());
    }
    const { events } = await (await fetch(`${host.url}/v1/events?kind=user-stream&limit=2000`)).json() as {
      events: { data: { streamId: string } }[];
    };
    assert(events.length > 0 && events.length <= 64, `the log kept ${events.length} events of 1 MiB`);
    assertEquals(events.at(-1)?.data.streamId, "99", "the newest event is kept");
  } finally {
    await stopAll();
  }
});

/** Open descriptors of a process. */
async function openFiles(pid: number): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) n++;
  return n;
}

/** Sets the open-file limit of a running process (util-linux prlimit). */
async function limitOpenFiles(pid: number, limit: number): Promise<void> {
  const { success, stderr } = await new Deno.Command("prlimit", {
    args: ["--pid", String(pid), `--nofile=${limit}:${limit}`],
    stderr: "piped",
  }).output();
  assert(success, new TextDecoder().decode(stderr));
}

/** Sends `request` on `conn` and reads the one answer it gets (status 0: none, or the connection is gone). */
async function askOnce(conn: Deno.Conn, request: string): Promise<{ status: number; code?: string }> {
  const buf = new Uint8Array(64 * 1024);
  try {
    await conn.write(encoder.encode(request));
    const n = await conn.read(buf);
    return answerOf(new TextDecoder().decode(buf.subarray(0, n ?? 0)));
  } catch {
    return { status: 0 };
  }
}

/**
 * Lets the host's process open only a few more files than it has open now, and has idle
 * connections (kept in `held`) take those; resolves once the process is at its limit.
 */
async function atFileLimit(host: HostProcess, held: Deno.Conn[]): Promise<() => Promise<void>> {
  const pid = host.process.pid;
  const limit = await openFiles(pid) + 4;
  await limitOpenFiles(pid, limit);
  const fill = async (connections: number) => {
    for (let i = 0; i < connections; i++) held.push(await connect(host));
    // A descriptor the host held only for a moment when the limit was set (a worker starting under
    // load) leaves room for more connections: another one each round, until none is left.
    await eventually("the host is at its file limit", async () => {
      if (await openFiles(pid) >= limit) return true;
      if (held.length < 64) held.push(await connect(host));
      return false;
    }, 10_000);
  };
  await fill(8);
  return () => fill(4);
}

Deno.test("a request that needs a file when none is left answers 503, and the host lives on", async () => {
  const held: Deno.Conn[] = [];
  const MODULE = "export const answer = 42;\n";
  try {
    const host = await startHost({ name: "no-descriptors" });
    const upload = (module = MODULE) =>
      `PUT /v1/code HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${module.length}\r\n\r\n${module}`;
    // One kept connection, answered once already, to ask on when no new one can be accepted.
    const kept = await connect(host);
    held.push(kept);
    assertEquals((await askOnce(kept, upload())).status, 201);
    const fillAgain = await atFileLimit(host, held);

    // Storing a module needs a file: there is none, and the answer says so with a code. A
    // descriptor the host frees meanwhile (a file it had open for a moment) lets one store pass:
    // then more idle connections take what is left, and it is asked again.
    const answers: { status: number; code?: string }[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const answer = await askOnce(kept, upload(`export const answer = ${43 + attempt};\n`));
      answers.push(answer);
      if (answer.status !== 201) break;
      await fillAgain();
    }
    assertEquals(answers.at(-1), { status: 503, code: "too_many_connections" }, JSON.stringify(answers));
    assert(await stillRunning(host), `the host exited:\n${host.stderr.join("\n")}`);

    for (const conn of held.splice(0)) close(conn);
    await eventually("health answers", () => healthOk(host), 15_000);
    const again = await fetch(`${host.url}/v1/code`, { method: "PUT", body: MODULE });
    assertEquals(again.status, 201, await again.text());
  } finally {
    for (const conn of held) close(conn);
    await stopAll();
  }
});

Deno.test("a create that needs a new worker when no file is left answers 503, and the host lives on", async () => {
  const held: Deno.Conn[] = [];
  try {
    const host = await startHost({ name: "no-worker-descriptors", args: ["--workers", "4"] });
    const body = JSON.stringify({ type: "demo.counter" });
    const create =
      `POST /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const kept = await connect(host);
    held.push(kept);
    assertEquals((await askOnce(kept, create)).status, 201);
    await atFileLimit(host, held);

    // Creates go to new workers while the pool grows (to 4): the next three ask for one each.
    const answers: { status: number; code?: string }[] = [];
    for (let i = 0; i < 3; i++) answers.push(await askOnce(kept, create));
    // A worker that cannot start leaves the agent on one that runs: 201, or 503 when even that
    // needed a file.
    assert(
      answers.every((a) => a.status === 201 || (a.status === 503 && a.code === "too_many_connections")),
      `${JSON.stringify(answers)}; host running: ${await stillRunning(host)}\n${host.stderr.join("\n")}`,
    );
    assert(await stillRunning(host), `the host exited:\n${host.stderr.join("\n")}`);
    for (const conn of held.splice(0)) close(conn);
    await eventually("health answers", () => healthOk(host), 15_000);
    const again = await host.client.createAgent({ type: "demo.counter" });
    assert(again.id, "a create works again");
  } finally {
    for (const conn of held) close(conn);
    await stopAll();
  }
});

Deno.test("a HEAD of the event stream or of an artifact answers its head and holds nothing after it", async () => {
  try {
    const host = await startHost({ name: "heads" });
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${host.url}/v1/events/stream`, { method: "HEAD" });
      assertEquals([res.status, res.headers.get("content-type")], [200, "text/event-stream"]);
      await res.body?.cancel();
    }
    await eventually(
      "no event stream is left open",
      async () => (await host.client.hostInfo()).eventStreams === 0,
    );

    const put = await fetch(`${host.url}/v1/artifacts?name=a.txt`, { method: "PUT", body: "hello" });
    assertEquals(put.status, 201, await put.clone().text());
    const { id } = await put.json();
    const fds = () => [...Deno.readDirSync(`/proc/${host.process.pid}/fd`)].length;
    const before = fds();
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${host.url}/v1/artifacts/${id}`, { method: "HEAD" });
      assertEquals([res.status, res.headers.get("content-length")], [200, "5"]);
      await res.body?.cancel();
    }
    // Each HEAD opened the file for its GET route; none may stay open (a keep-alive socket or two may).
    assert(fds() - before < 10, `${fds() - before} more descriptors after 50 HEADs`);
  } finally {
    await stopAll();
  }
});

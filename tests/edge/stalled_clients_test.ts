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
import { answerOf, readUntilClosed } from "../helpers/raw_http.ts";

const encoder = new TextEncoder();

function portOf(host: HostProcess): number {
  return Number(new URL(host.url).port);
}

async function connect(host: HostProcess): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port: portOf(host) });
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* the host closed it */ }
}

async function healthOk(host: HostProcess): Promise<boolean> {
  const response = await fetch(`${host.url}/v1/health`).catch(() => null);
  await response?.body?.cancel();
  return response?.status === 200;
}

/** The host process has not exited. */
async function stillRunning(host: HostProcess): Promise<boolean> {
  const exited = await Promise.race([host.process.status.then(() => true), Promise.resolve(false)]);
  return !exited;
}

Deno.test("a request body that stops arriving ends its connection after the idle timeout", async () => {
  const held: Deno.Conn[] = [];
  try {
    // As many connections as the cap: while they are stuck, nobody else is served.
    const host = await startHost({
      name: "stalled-bodies",
      args: ["--idle-timeout-ms", "500", "--max-connections", "4"],
    });
    const heads = [
      // A small JSON body, read in one piece.
      'POST /v1/agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type":',
      // The message route, served in front of the app.
      "POST /v1/agents/ag_7gwxzqa6sc2mupw2gtok/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      'Content-Length: 1000\r\n\r\n{"kind":',
      // A chunked body, streamed: one chunk, then nothing.
      "POST /v1/agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
      '8\r\n{"type":\r\n',
      // A large declared body, streamed.
      `PUT /v1/code HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n${"/".repeat(100_000)}`,
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
      encoder.encode("GET /v1/events/stream?kind=user-stream HTTP/1.1\r\nHost: x\r\n\r\n"),
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

Deno.test("a request that needs a file when none is left answers 503, and the host lives on", async () => {
  const held: Deno.Conn[] = [];
  const MODULE = "export const answer = 42;\n";
  try {
    const host = await startHost({ name: "no-descriptors" });
    const upload = (conn: Deno.Conn, extra = "", module = MODULE) =>
      conn.write(encoder.encode(
        `PUT /v1/code HTTP/1.1\r\nHost: x\r\n${extra}Content-Length: ${module.length}\r\n\r\n${module}`,
      ));
    // One kept connection, answered once already, to ask on when no new one can be accepted.
    const kept = await connect(host);
    held.push(kept);
    await upload(kept);
    const first = new Uint8Array(64 * 1024);
    const n = await kept.read(first);
    assertEquals(answerOf(new TextDecoder().decode(first.subarray(0, n ?? 0))).status, 201);

    // The process may open a few more files than it has open now; idle connections take them.
    const pid = host.process.pid;
    const limit = await openFiles(pid) + 4;
    await limitOpenFiles(pid, limit);
    for (let i = 0; i < 8; i++) held.push(await connect(host));
    await eventually("the host is at its file limit", async () => await openFiles(pid) >= limit, 10_000);

    // Storing a module needs a file: there is none, and the answer says so with a code. A
    // descriptor the host frees meanwhile (a file it had open for a moment) lets one store pass:
    // then more idle connections take what is left, and it is asked again.
    const answers: { status: number; code?: string }[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      await upload(kept, "", `export const answer = ${43 + attempt};\n`);
      const buf = new Uint8Array(64 * 1024);
      const got = await kept.read(buf);
      const answer = answerOf(new TextDecoder().decode(buf.subarray(0, got ?? 0)));
      answers.push(answer);
      if (answer.status !== 201) break;
      for (let i = 0; i < 4; i++) held.push(await connect(host));
      await eventually(
        "the host is at its file limit again",
        async () => await openFiles(pid) >= limit,
        10_000,
      );
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
    const create = (conn: Deno.Conn) => {
      const body = JSON.stringify({ type: "demo.counter" });
      return conn.write(encoder.encode(
        `POST /v1/agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ));
    };
    const kept = await connect(host);
    held.push(kept);
    await create(kept);
    const first = new Uint8Array(64 * 1024);
    const n = await kept.read(first);
    assertEquals(answerOf(new TextDecoder().decode(first.subarray(0, n ?? 0))).status, 201);

    const pid = host.process.pid;
    const limit = await openFiles(pid) + 4;
    await limitOpenFiles(pid, limit);
    for (let i = 0; i < 8; i++) held.push(await connect(host));
    await eventually("the host is at its file limit", async () => await openFiles(pid) >= limit, 10_000);

    // Creates go to new workers while the pool grows (to 4): the next three ask for one each.
    const answers: { status: number; code?: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const buf = new Uint8Array(64 * 1024);
      await create(kept);
      const got = await kept.read(buf);
      answers.push(answerOf(new TextDecoder().decode(buf.subarray(0, got ?? 0))));
    }
    // A worker that cannot start leaves the agent on one that runs: 201, or 503 when even that
    // needed a file.
    assert(
      answers.every((a) => a.status === 201 || (a.status === 503 && a.code === "too_many_connections")),
      JSON.stringify(answers),
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

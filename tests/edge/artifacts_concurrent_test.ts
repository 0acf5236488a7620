/**
 * Artifact requests that cross on a real host: uploads that cannot all fit in the quota (one that
 * declares its size reserves it when admitted, so the others are refused at once and the admitted
 * ones are stored), and deletes or `get --move` of one artifact (exactly one of them wins).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { paglets } from "../helpers/cli.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { tempDir } from "../helpers/temp.ts";
import { answerOf, close, connect, readUntilClosed } from "../helpers/raw_http.ts";

/** A request body sent as the test pushes it (chunked, its size declared in `x-size`). */
function pushedBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return {
    stream,
    push(bytes: Uint8Array) {
      try {
        controller.enqueue(bytes);
      } catch { /* the host answered and the body was dropped */ }
    },
    end() {
      try {
        controller.close();
      } catch { /* the host answered and the body was dropped */ }
    },
  };
}

type Answer = { status: number; body: { size?: number; error?: { code: string; message: string } } };

async function answer(res: Promise<Response>): Promise<Answer> {
  const r = await res;
  return { status: r.status, body: await r.json() };
}

/** Starts an upload of `size` declared bytes whose body the test pushes. */
function upload(host: HostProcess, size: number, signal?: AbortSignal) {
  const body = pushedBody();
  const res = fetch(`${host.url}/v1/artifacts?name=up.bin`, {
    method: "PUT",
    body: body.stream,
    headers: { "x-size": String(size) },
    signal,
  });
  // A test that fails before it awaits the answer stops the host: that is no second failure.
  res.catch(() => {});
  return { ...body, res };
}

/** The uploads in progress on `host`: its `.part` files. */
async function spooling(host: HostProcess): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(`${host.dataDir}/artifacts/tmp`)) if (e.name.endsWith(".part")) n++;
  return n;
}

/** The bytes uploads in progress on `host` hold, as `GET /v1/artifacts` says. */
async function reserved(host: HostProcess): Promise<number> {
  return (await (await fetch(`${host.url}/v1/artifacts`)).json()).reservedBytes;
}

async function stored(host: HostProcess): Promise<number[]> {
  const res = await fetch(`${host.url}/v1/artifacts`);
  return ((await res.json()).artifacts as { size: number }[]).map((a) => a.size);
}

Deno.test("an upload that does not fit beside one admitted before it is refused at once; the admitted one is stored", async () => {
  try {
    const host = await startHost({ name: "artifacts-reserve", args: ["--artifact-storage-quota", "1000"] });
    const first = upload(host, 600);
    await eventually("the first upload is admitted", async () => await spooling(host) === 1);

    // It has received nothing yet, but its 600 bytes are reserved: 600 more do not fit.
    const second = await answer(
      fetch(`${host.url}/v1/artifacts`, { method: "PUT", body: new Uint8Array(600) }),
    );
    assertEquals([second.status, second.body.error?.code], [413, "quota_exceeded"]);
    const message = second.body.error!.message;
    for (const part of ["600 bytes", "quota of 1000 bytes", "0 used", "600 reserved"]) {
      assert(message.includes(part), message);
    }
    // One of no declared size is refused once what it sent does not fit beside the reservation.
    const chunked = await answer(fetch(`${host.url}/v1/artifacts`, {
      method: "PUT",
      body: ReadableStream.from([new Uint8Array(500)]),
    }));
    assertEquals([chunked.status, chunked.body.error?.code], [413, "quota_exceeded"]);

    first.push(new Uint8Array(300));
    first.push(new Uint8Array(300));
    first.end();
    const got = await answer(first.res);
    assertEquals([got.status, got.body.size], [201, 600]);
    assertEquals(await stored(host), [600]);
  } finally {
    await stopAll();
  }
});

Deno.test("of four uploads of 300 bytes under a quota of 700, two are stored and two refused naming what is reserved", async () => {
  try {
    const host = await startHost({ name: "artifacts-four", args: ["--artifact-storage-quota", "700"] });
    const uploads = Array.from({ length: 4 }, () => upload(host, 300));
    const answers: Answer[] = [];
    const answered = Promise.all(uploads.map((u) => answer(u.res).then((a) => void answers.push(a))));
    answered.catch(() => {/* awaited below, unless the test failed before */});
    // Two are admitted (600 bytes reserved), the other two refused before any body byte is sent.
    await eventually("two uploads are refused", () => answers.length === 2);
    for (const a of answers) {
      assertEquals([a.status, a.body.error?.code], [413, "quota_exceeded"]);
      const message = a.body.error!.message;
      assert(message.includes("0 used by stored artifacts, 600 reserved by uploads in progress"), message);
    }
    for (const u of uploads) {
      u.push(new Uint8Array(150));
      u.push(new Uint8Array(150));
      u.end();
    }
    await answered;
    assertEquals(answers.slice(2).map((a) => [a.status, a.body.size]), [[201, 300], [201, 300]]);
    assertEquals(await stored(host), [300, 300]);
  } finally {
    await stopAll();
  }
});

Deno.test("an upload that breaks off frees what it reserved: the next upload that needs the room is stored", async () => {
  try {
    const host = await startHost({ name: "artifacts-release", args: ["--artifact-storage-quota", "1000"] });
    const stop = new AbortController();
    const broken = upload(host, 600, stop.signal);
    broken.push(new Uint8Array(100));
    await eventually("the upload is admitted", async () => await spooling(host) === 1);
    stop.abort();
    await broken.res.catch(() => {});
    await eventually("the broken upload is cleaned up", async () => await spooling(host) === 0);

    const next = await answer(
      fetch(`${host.url}/v1/artifacts`, { method: "PUT", body: new Uint8Array(900) }),
    );
    assertEquals([next.status, next.body.size], [201, 900]);
    // A body longer than the size it declared does not take more than it reserved.
    const longer = await answer(fetch(`${host.url}/v1/artifacts`, {
      method: "PUT",
      body: ReadableStream.from([new Uint8Array(50), new Uint8Array(60)]),
      headers: { "x-size": "100" },
    }));
    assertEquals([longer.status, longer.body.error?.code], [400, "bad_request"]);
    assert(
      longer.body.error!.message.includes("longer than its declared 100 bytes"),
      longer.body.error!.message,
    );
    assertEquals(await stored(host), [900]);
  } finally {
    await stopAll();
  }
});

Deno.test("of deletes of one artifact that cross, one succeeds and the others answer 404", async () => {
  try {
    const host = await startHost({ name: "artifacts-delete-race" });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${host.url}/v1/artifacts?name=a${i}`, {
        method: "PUT",
        body: `artifact ${i}`,
      });
      ids.push((await res.json()).id);
    }
    // Six deletes of each artifact at once, all artifacts at once.
    const answers = await Promise.all(ids.map((id) =>
      Promise.all(
        Array.from(
          { length: 6 },
          () => answer(fetch(`${host.url}/v1/artifacts/${id}`, { method: "DELETE" })),
        ),
      )
    ));
    for (const each of answers) {
      assertEquals(each.map((a) => a.status).sort(), [200, 404, 404, 404, 404, 404], JSON.stringify(each));
      for (const a of each.filter((a) => a.status === 404)) {
        assertEquals(a.body.error?.code, "artifact_not_found");
      }
    }
    assertEquals(await stored(host), []);
  } finally {
    await stopAll();
  }
});

Deno.test("of two artifacts get --move of one artifact, exactly one deletes the hosted copy", async () => {
  const dir = await tempDir("paglets-artifacts-move-race-");
  try {
    const host = await startHost({ name: "artifacts-move-race" });
    const res = await fetch(`${host.url}/v1/artifacts?name=work.txt`, { method: "PUT", body: "a job" });
    const { id } = await res.json();
    const runs = await Promise.all(
      ["a", "b"].map((who) =>
        paglets(["artifacts", "get", id, `${dir}/${who}/`, "--move", "--entry", host.url])
      ),
    );
    const won = runs.filter((r) => r.code === 0);
    assertEquals(won.length, 1, JSON.stringify(runs));
    assert(won[0].stdout.includes("hosted copy deleted"), won[0].stdout);
    const lost = runs.find((r) => r.code !== 0)!;
    assertEquals(lost.code, 1, lost.stderr);
    assert(lost.stderr.startsWith("error [artifact_not_found]: "), lost.stderr);
    assertEquals(await stored(host), []);
  } finally {
    await stopAll();
  }
});

Deno.test("an upload whose body stops arriving is given up after the idle timeout, and frees its room", async () => {
  try {
    const host = await startHost({
      name: "artifacts-stalled",
      args: ["--artifact-storage-quota", "1000", "--idle-timeout-ms", "600"],
    });
    const stalled = upload(host, 600);
    stalled.push(new Uint8Array(100)); // and nothing more: its 600 bytes stay reserved meanwhile
    const given = await answer(stalled.res);
    assertEquals(given.body.error?.code, "timeout", JSON.stringify(given.body));
    assert(given.body.error!.message.includes("stopped arriving"), given.body.error!.message);
    const next = await answer(
      fetch(`${host.url}/v1/artifacts`, { method: "PUT", body: new Uint8Array(600) }),
    );
    assertEquals([next.status, next.body.size], [201, 600]);
    assertEquals(await stored(host), [600]);
    assertEquals(await spooling(host), 0);
  } finally {
    await stopAll();
  }
});

Deno.test("a declared upload whose body stops arriving holds its room until the idle timeout, then frees it and its connection", async () => {
  let conn: Deno.TcpConn | undefined;
  try {
    const host = await startHost({
      name: "artifacts-stalled-declared",
      args: ["--artifact-storage-quota", "1000", "--idle-timeout-ms", "1000"],
    });
    conn = await connect(host);
    // 100 of its 600 declared bytes, and then nothing, the connection kept open.
    await conn.write(new TextEncoder().encode(
      `PUT /v1/artifacts?name=up.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 600\r\n\r\n${
        "x".repeat(100)
      }`,
    ));
    await eventually("the upload holds its declared size", async () => await reserved(host) === 600);
    // Given up once its body has not moved for the idle timeout: answered, and its connection ended
    // by the host (Deno's server would wait for the 500 bytes that never come).
    const { text, closed } = await readUntilClosed(conn, 20_000);
    assertEquals(answerOf(text), { status: 504, code: "timeout" }, text);
    assert(text.includes("stopped arriving"), text);
    assert(closed, "the host kept the connection of the given-up upload");
    assertEquals(await reserved(host), 0);
    assertEquals(await spooling(host), 0);
    const next = await answer(
      fetch(`${host.url}/v1/artifacts`, { method: "PUT", body: new Uint8Array(1000) }),
    );
    assertEquals([next.status, next.body.size], [201, 1000]);
  } finally {
    if (conn) close(conn);
    await stopAll();
  }
});

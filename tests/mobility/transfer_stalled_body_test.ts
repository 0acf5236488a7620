/**
 * A target gives up an incoming transfer whose body stops arriving, as it gives up an artifact
 * upload: after its idle timeout (`--idle-timeout-ms`, shortened here) it answers `504 timeout`,
 * removes the spool, ends the connection, and keeps nothing of the attempt, so that a retry under
 * the same transfer id and a later move of the same paglet are taken. A retry that comes while the
 * stalled attempt is still open takes over from it without waiting for the idle timeout; an
 * attempt still receiving bytes is not cut by a retry, which gets its acknowledgement.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type HostProcess, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { answerOf, close, connect, readUntilClosed } from "../helpers/raw_http.ts";
import { concat } from "../../agents/bytes.ts";
import { writeAll } from "../../host/write_all.ts";
import { sleep } from "../../agents/timers.ts";
import type { TransferEnvelope } from "../../host/transfers/envelope.ts";
import {
  agentIds,
  entries,
  sha256Of,
  startMobileHost,
  testEnvelope,
  transferBytes,
  travellerEvents,
} from "./helpers.ts";

const FILE_BYTES = 64 * 1024;
/** What a stalled sender sends of the file before it goes quiet. */
const SENT_BYTES = 1000;

/** A transfer of `agent` (a new one if not named) carrying one file of {@link FILE_BYTES}. */
async function withFile(
  agent: Partial<TransferEnvelope["agent"]> = {},
): Promise<{ envelope: TransferEnvelope; bytes: Uint8Array }> {
  const content = new Uint8Array(FILE_BYTES).map((_, i) => i % 251);
  const file = { name: "data.bin", mode: "copy" as const, size: FILE_BYTES, sha256: await sha256Of(content) };
  const envelope = testEnvelope({ files: [file] }, agent);
  return { envelope, bytes: transferBytes(envelope, [content]) };
}

/**
 * Sends `bytes` as a transfer to `host` over a raw connection, all of its length declared but only
 * what comes before the last `FILE_BYTES - SENT_BYTES` bytes sent; the connection stays open (and
 * with `closeAfter`, asks to be closed after the answer).
 */
async function sendAllButTheEnd(
  host: HostProcess,
  bytes: Uint8Array,
  closeAfter = false,
): Promise<Deno.TcpConn> {
  const conn = await connect(host);
  const head = new TextEncoder().encode(
    `POST /v1/transfers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/cbor\r\n` +
      `${closeAfter ? "Connection: close\r\n" : ""}Content-Length: ${bytes.length}\r\n\r\n`,
  );
  await writeAll(conn, concat([head, bytes.subarray(0, bytes.length - (FILE_BYTES - SENT_BYTES))]));
  return conn;
}

/**
 * A transfer sent all but its end to a new beta whose idle timeout is far beyond the test (only
 * something else can end the attempt), once beta spools it; its connection is added to `conns`.
 */
async function stalledAttempt(conns: Deno.TcpConn[]) {
  const b = await startMobileHost("beta", { args: ["--idle-timeout-ms", "3600000"] });
  const transfer = await withFile();
  const id = transfer.envelope.transferId;
  conns.push(await sendAllButTheEnd(b, transfer.bytes));
  await eventually(
    "beta spools the transfer",
    async () => await transferOn(b, id) === `receiving:${SENT_BYTES}`,
  );
  return { b, transfer, id };
}

/** What `host` says of transfer `id` now: its `status` and `bytes` while receiving, else the error code. */
async function transferOn(host: HostProcess, id: string): Promise<string> {
  try {
    const row = await host.client.request("GET", `/v1/transfers/${id}`);
    return `${row.status}:${row.bytes}`;
  } catch (err) {
    return (err as { code: string }).code;
  }
}

Deno.test("a transfer whose body stops arriving is given up after the idle timeout, leaves nothing, and the paglet moves afterwards", async () => {
  const conns: Deno.TcpConn[] = [];
  try {
    const [a, b] = await Promise.all([
      startMobileHost("alpha"),
      startMobileHost("beta", { args: ["--idle-timeout-ms", "1000"] }),
    ]);
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(id, { kind: "set", args: { count: 7 } });

    // Two senders that go quiet in the middle of a file: one with alpha's paglet, one with a new
    // paglet whose transfer is retried under the same id afterwards.
    const ofPaglet = await withFile({ id });
    const retried = await withFile();
    conns.push(await sendAllButTheEnd(b, ofPaglet.bytes), await sendAllButTheEnd(b, retried.bytes));
    const transfers = [ofPaglet.envelope.transferId, retried.envelope.transferId];
    await eventually("beta spools both transfers", async () => {
      for (const t of transfers) if (await transferOn(b, t) !== `receiving:${SENT_BYTES}`) return false;
      return true;
    });
    assertEquals(await entries(`${b.dataDir}/transfers`), [...transfers].sort());

    // Given up once nothing came for the idle timeout: answered, and each connection ended by beta
    // (Deno's server would wait for the rest of the body, which never comes).
    for (const conn of conns) {
      const { text, closed } = await readUntilClosed(conn, 20_000);
      assertEquals(answerOf(text), { status: 504, code: "timeout" }, text);
      assert(text.includes("Transfer stopped arriving"), text);
      assert(closed, "beta kept the connection of a given-up transfer");
    }
    assertEquals(await entries(`${b.dataDir}/transfers`), []);
    for (const t of transfers) assertEquals(await transferOn(b, t), "transfer_not_found");
    assertEquals(await agentIds(b), []);

    // A retry under the same transfer id is taken in full: the half-received attempt counted for
    // nothing.
    const again = await fetch(`${b.url}/v1/transfers`, {
      method: "POST",
      headers: { "content-type": "application/cbor" },
      body: retried.bytes as Uint8Array<ArrayBuffer>,
    });
    const ack = await again.json();
    assertEquals([again.status, ack.transferId, ack.status], [200, transfers[1], "stored"]);

    // And alpha moves its paglet to beta, where the stalled attempt left no trace of it.
    await a.client.dispatch(id, b.url);
    await eventually(
      "the paglet runs on beta",
      async () => (await travellerEvents(b, id)).includes("run:beta"),
    );
    assertEquals(((await b.client.send(id, { kind: "get" })) as { count: number }).count, 7);
    assertEquals(await agentIds(a), []);
    assertEquals((await agentIds(b)).sort(), [id, retried.envelope.agent.id].sort());
  } finally {
    for (const conn of conns) close(conn);
    await stopAll();
  }
});

/** Sends `bytes` as a transfer to `host` with `fetch`; its status and acknowledgement (or error). */
async function post(host: HostProcess, bytes: Uint8Array): Promise<[number, Record<string, unknown>]> {
  const res = await fetch(`${host.url}/v1/transfers`, {
    method: "POST",
    headers: { "content-type": "application/cbor" },
    body: bytes as Uint8Array<ArrayBuffer>,
    // A bound on the test, far above what it takes: not the idle timeout, which is longer still.
    signal: AbortSignal.timeout(60_000),
  });
  return [res.status, await res.json()];
}

Deno.test("a retry of a transfer whose body stopped arriving takes over from the open attempt: the stalled one is ended and leaves nothing, the retry is stored whole", async () => {
  const conns: Deno.TcpConn[] = [];
  try {
    const { b, transfer, id } = await stalledAttempt(conns);

    const [status, ack] = await post(b, transfer.bytes);
    assertEquals([status, ack.transferId, ack.status], [200, id, "stored"], JSON.stringify(ack));

    // The stalled attempt was answered and its connection ended by beta.
    const { text, closed } = await readUntilClosed(conns[0], 20_000);
    assertEquals(answerOf(text), { status: 504, code: "timeout" }, text);
    assert(text.includes("Transfer stopped arriving: nothing came for 1 s; a newer attempt"), text);
    assert(closed, "beta kept the connection of the superseded attempt");
    assertEquals(await agentIds(b), [transfer.envelope.agent.id]);
    const row = (await transferOn(b, id)).split(":")[0];
    assert(["stored", "arrived"].includes(row), row);
    await eventually(
      "the spool is gone once the paglet arrived",
      async () => (await entries(`${b.dataDir}/transfers`)).length === 0,
    );
  } finally {
    for (const conn of conns) close(conn);
    await stopAll();
  }
});

Deno.test("an abandon question about a transfer whose body stopped arriving ends the open attempt and answers refused", async () => {
  const conns: Deno.TcpConn[] = [];
  try {
    const { b, transfer, id } = await stalledAttempt(conns);

    const answer = await b.client.request<{ status: string }>("POST", `/v1/transfers/${id}/abandon`, {
      agentId: transfer.envelope.agent.id,
      source: transfer.envelope.source.url,
      ageMs: 0,
    });
    assertEquals(answer.status, "refused");
    const { text, closed } = await readUntilClosed(conns[0], 20_000);
    assertEquals(answerOf(text), { status: 504, code: "timeout" }, text);
    assert(closed, "beta kept the connection of the abandoned attempt");
    assertEquals(await agentIds(b), []);
  } finally {
    for (const conn of conns) close(conn);
    await stopAll();
  }
});

Deno.test("an attempt still receiving bytes is not cut by a retry of its transfer: both are answered its acknowledgement, and the paglet is taken once", async () => {
  const conns: Deno.TcpConn[] = [];
  try {
    const b = await startMobileHost("beta");
    const transfer = await withFile();
    const id = transfer.envelope.transferId;
    const conn = await sendAllButTheEnd(b, transfer.bytes, true);
    conns.push(conn);
    await eventually(
      "beta spools the transfer",
      async () => await transferOn(b, id) === `receiving:${SENT_BYTES}`,
    );

    const retry = post(b, transfer.bytes);
    // The rest of the file, a piece every 50 ms (the scenario's pace, far under the 1 s a newer
    // attempt leaves an older one that waits for bytes): about 3 s, in which the retry arrives.
    const rest = transfer.bytes.subarray(transfer.bytes.length - (FILE_BYTES - SENT_BYTES));
    for (let at = 0; at < rest.length; at += 1000) {
      await sleep(50);
      await writeAll(conn, rest.subarray(at, at + 1000));
    }
    const { text } = await readUntilClosed(conn, 20_000);
    assertEquals(answerOf(text).status, 200, text);
    const first = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    assertEquals([first.transferId, first.status], [id, "stored"], text);
    const [status, ack] = await retry;
    assertEquals([status, ack], [200, first]);
    assertEquals(await agentIds(b), [transfer.envelope.agent.id]);
  } finally {
    for (const conn of conns) close(conn);
    await stopAll();
  }
});

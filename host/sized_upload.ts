/**
 * A streamed request body of known length sent with a `content-length`, over a connection of its
 * own (`connection: close`): how an artifact upload (host/artifacts/client.ts) and a transfer of
 * an agent with its files (host/transfers/transfer_sender.ts) reach an `http:` or `https:` host.
 * HostClient uses it for a stream whose `length` it is given; through a transport or an HTTP
 * proxy, `fetch` sends such a stream chunked.
 *
 * Deno's `fetch` sends every stream `transfer-encoding: chunked`, in chunks of 64 KiB whatever the
 * stream yields (and drops a `content-length` given for it), and Deno's HTTP server spends time on
 * each such chunk that grows with the bytes of the body already received while the reader is
 * slower than the network, as a host writing an upload to disk is: measured on one machine, a
 * 150 MB upload took 11.5 s and 9.6 s of the server's CPU chunked in 64 KiB pieces, 0.6 s in 4 MiB
 * pieces, 0.45 s with a `content-length` (300 MB: up to 80 s through `fetch`, 3 s as here; a
 * 400 MB transfer: docs/performance.md "Big transfers").
 *
 * The answer is read while the body goes out: one that is complete (by its `content-length` or its
 * last chunk) before the body is all sent, a refusal such as a 401 or 413 or a target's
 * acknowledgement of a transfer it already holds, is returned at once and the rest of the body is
 * not sent, as `fetch` does.
 *
 * @example
 * ```ts
 * const file = await Deno.open("results.sqlite");
 * const { size } = await file.stat();
 * const answer = await sizedUpload("http://127.0.0.1:8765/v1/artifacts?name=results.sqlite", {
 *   method: "PUT",
 *   headers: { "content-type": "application/octet-stream" },
 *   body: file.readable,
 *   length: size,
 *   signal: AbortSignal.timeout(60_000),
 * });
 * console.log(answer.status, await answer.json());
 * ```
 *
 * @module
 */
import { PagletError } from "../agents/errors.ts";
import { writeAll } from "./write_all.ts";
import { concat } from "../agents/bytes.ts";
import { connect, requestHead } from "./plain_http.ts";

export interface SizedUpload {
  method: string;
  headers: Record<string, string>;
  /** Exactly `length` bytes; one more or one fewer fails the request. */
  body: ReadableStream<Uint8Array>;
  length: number;
  /** Ends the request: the connection closes and the call rejects with the signal's reason. */
  signal: AbortSignal;
}

const decoder = new TextDecoder();
/** An answer larger than this is refused: an upload's answer is a line of JSON. */
const MAX_ANSWER_BYTES = 1 << 20;

/**
 * Sends `init` to `url` (`http:` or `https:`) and returns the host's answer. An answer that comes before
 * the body is all sent (a refusal: 401, 413) is returned as it is, the rest of the body unsent.
 * A body that cannot be read or does not hold `length` bytes fails as `transfer_failed`.
 */
export async function sizedUpload(url: string, init: SizedUpload): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new TypeError(`HTTP or HTTPS only, not ${target.protocol}`);
  }
  if (!Number.isSafeInteger(init.length) || init.length < 0) {
    throw new RangeError(`Cannot send a body of length ${init.length}: expected a whole number >= 0`);
  }
  const reader = init.body.getReader();
  let conn: Deno.Conn | undefined;
  const abort = () => conn?.close();
  try {
    conn = await connect(target, init.signal);
    init.signal.addEventListener("abort", abort, { once: true });
    const open = conn;
    const answer = readAnswer(open);
    // Settled either way by the end of the connection (at the latest, its close below).
    answer.catch(() => {});
    const sending = (async () => {
      await writeAll(open, requestHead(target, init.method, init.headers, init.length));
      await sendBody(open, reader, init.length);
    })();
    // What is left of it once the answer came first fails as the connection closes: not heard.
    sending.catch(() => {});
    // The answer decides once it came (whether the body is all sent or not) or the body is sent.
    const failed = await Promise.race([
      sending.then(() => null, (err: unknown) => ({ err })),
      answer.then(() => null, () => null),
    ]);
    if (!failed) return await answer;
    const { err } = failed;
    if (err instanceof BodyError) {
      throw new PagletError("transfer_failed", `Request to ${target.host} broken off: ${err.message}`);
    }
    // The host answered and closed before the body was all sent: its answer says why.
    if (!init.signal.aborted) {
      const early = await answer.catch(() => null);
      if (early) return early;
    }
    throw err;
  } catch (err) {
    throw init.signal.aborted ? init.signal.reason : err;
  } finally {
    init.signal.removeEventListener("abort", abort);
    try {
      conn?.close();
    } catch { /* closed already: by the abort */ }
    // Cancelling closes the stream's source (a file); after the stream's end it does nothing.
    await reader.cancel().catch(() => {});
  }
}

/** The body stream failed or did not hold the declared bytes (not the connection). */
class BodyError extends Error {}

/** Writes the body's `length` bytes: a body that ends early or goes on longer is a BodyError. */
async function sendBody(
  conn: Deno.Conn,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  length: number,
): Promise<void> {
  let sent = 0;
  while (true) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw new BodyError(`the body could not be read: ${(err as Error).message}`);
    }
    if (chunk.done) break;
    if (sent + chunk.value.length > length) {
      throw new BodyError(`the body is longer than the ${length} bytes declared (did the file grow?)`);
    }
    await writeAll(conn, chunk.value);
    sent += chunk.value.length;
  }
  if (sent !== length) {
    throw new BodyError(
      `the body ended after ${sent} of the ${length} bytes declared (did the file shrink?)`,
    );
  }
}

/** An answer's head: its status line and fields, and where its body starts. */
interface Head {
  status: number;
  headers: Headers;
  /** Bytes of the head, its blank line included. */
  size: number;
}

/**
 * The host's answer, read until it is complete by its framing (a `content-length`, the last chunk
 * of a chunked body, no body for 204 and 304) or, without either, until the host closes the
 * connection (the request asked it to). A host that refused the body may reset the connection
 * after its answer: what arrived before counts. Interim answers (`100 Continue`) are skipped.
 */
async function readAnswer(conn: Deno.Conn): Promise<Response> {
  let bytes = new Uint8Array(16 * 1024);
  let length = 0;
  let head: Head | null = null;
  while (true) {
    if (length === bytes.length) {
      if (length >= MAX_ANSWER_BYTES) throw new Error(`The answer is larger than ${MAX_ANSWER_BYTES} bytes`);
      const bigger = new Uint8Array(length * 2);
      bigger.set(bytes);
      bytes = bigger;
    }
    let n: number | null;
    try {
      n = await conn.read(bytes.subarray(length));
    } catch (err) {
      if (length === 0) throw err;
      n = null;
    }
    const closed = n === null;
    if (n !== null) length += n;
    while (!head) {
      head = parseHead(bytes.subarray(0, length));
      if (!head) break;
      if (head.status >= 100 && head.status < 200) {
        // An interim answer: the final one follows it.
        bytes.copyWithin(0, head.size, length);
        length -= head.size;
        head = null;
      }
    }
    if (!head) {
      if (closed) throw new Error("the host closed the connection before its answer's head");
      continue;
    }
    const body = bodyOf(head, bytes.subarray(head.size, length), closed);
    if (body) {
      head.headers.delete("transfer-encoding");
      // A status without a body (204, 304) cannot be given one.
      const none = head.status === 204 || head.status === 304;
      return new Response(none ? null : body, { status: head.status, headers: head.headers });
    }
    if (closed) throw new Error("the host closed the connection in the middle of its answer");
  }
}

/** The answer's head once all of it is in `bytes`, else null. */
function parseHead(bytes: Uint8Array): Head | null {
  const end = indexOfBlankLine(bytes);
  if (end < 0) return null;
  const [statusLine, ...fields] = decoder.decode(bytes.subarray(0, end)).split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  if (!status) throw new Error(`not an HTTP/1.1 answer: ${statusLine.slice(0, 80)}`);
  const headers = new Headers();
  for (const field of fields) {
    const colon = field.indexOf(":");
    if (colon > 0) headers.append(field.slice(0, colon).trim(), field.slice(colon + 1).trim());
  }
  return { status: Number(status), headers, size: end + 4 };
}

/** The body when `rest` (what follows the head) holds all of it by the head's framing, else null. */
function bodyOf(head: Head, rest: Uint8Array, closed: boolean): Uint8Array<ArrayBuffer> | null {
  if (head.status === 204 || head.status === 304) return new Uint8Array(0);
  if (/chunked/i.test(head.headers.get("transfer-encoding") ?? "")) {
    const body = dechunk(rest);
    // Trailers, if any, are not read; a body cut off by the close is what came of it.
    return body ?? (closed ? dechunk(rest, true) : null);
  }
  const declared = head.headers.get("content-length");
  if (declared !== null) {
    const n = Number(declared);
    if (rest.length >= n) return rest.slice(0, n);
    return closed ? rest.slice() : null;
  }
  return closed ? rest.slice() : null;
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

/**
 * A chunked body's bytes once its last chunk is in, else null; `partial`: the whole chunks that
 * came, last chunk or not.
 */
function dechunk(rest: Uint8Array, partial = false): Uint8Array<ArrayBuffer> | null {
  const parts: Uint8Array[] = [];
  let at = 0;
  let ended = false;
  while (at < rest.length) {
    let lineEnd = at;
    while (lineEnd + 1 < rest.length && !(rest[lineEnd] === 13 && rest[lineEnd + 1] === 10)) lineEnd++;
    if (lineEnd + 1 >= rest.length) break;
    const size = parseInt(decoder.decode(rest.subarray(at, lineEnd)).split(";")[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error("a malformed chunk in the answer");
    if (size === 0) {
      ended = true;
      break;
    }
    if (rest.length < lineEnd + 2 + size + 2) break;
    parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  if (!ended && !partial) return null;
  return concat(parts);
}

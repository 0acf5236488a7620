/**
 * One HTTP/1.1 request over a connection of its own (`connection: close`), for a command line that
 * makes a few requests and ends. A process's first `fetch` loads Deno's fetch and streams code and
 * sets up its client: ~11 ms of a reading command's ~100 (`paglets agents ls`; measured against a
 * request written to `Deno.connect` by hand, docs/performance.md "Start-up"). Long-lived clients (a
 * host's calls to its peers) keep `fetch`, whose connections are pooled.
 *
 * Plain `http:` only, a whole answer at a time (a `content-length`, `chunked` or until the server
 * closes); no `Response` object is made (that alone loads the fetch code again). HostClient uses it
 * for its JSON requests when told it is a command's client (`oneShot`) and no HTTP proxy is set.
 *
 * @module
 */
import { writeAll } from "./write_all.ts";
import { concat, indexOf } from "../agents/bytes.ts";

/** An answer: its status and its whole body. */
export interface PlainAnswer {
  status: number;
  body: Uint8Array;
}

export interface PlainRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Ends the request: the connection closes and the call rejects with the signal's reason. */
  signal: AbortSignal;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEAD_END = encoder.encode("\r\n\r\n");
/** A head larger than this is refused, as a server refuses one. */
const MAX_HEAD_BYTES = 64 * 1024;

/** Sends `init` to `url` (http:) and reads the whole answer. */
export async function plainRequest(url: string, init: PlainRequest): Promise<PlainAnswer> {
  const target = new URL(url);
  if (target.protocol !== "http:") throw new TypeError(`plain HTTP only, not ${target.protocol}`);
  init.signal.throwIfAborted();
  const body = init.body === undefined ? undefined : encoder.encode(init.body);
  const head = requestHead(target, init.method, init.headers, body?.length);
  const conn = await connect(target, init.signal);
  const abort = () => conn.close();
  init.signal.addEventListener("abort", abort, { once: true });
  try {
    await writeAll(conn, body ? concat([head, body]) : head);
    return await readAnswer(conn);
  } catch (err) {
    throw init.signal.aborted ? init.signal.reason : err;
  } finally {
    init.signal.removeEventListener("abort", abort);
    if (!init.signal.aborted) conn.close();
  }
}

/**
 * A connection to `target` (`http:`, or `https:` over TLS, trusting what `fetch` trusts: Deno's
 * root certificates, `DENO_CERT`); `signal` ends the wait too (a host that drops the handshake).
 */
export function connect(target: URL, signal: AbortSignal): Promise<Deno.Conn> {
  signal.throwIfAborted();
  const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const connecting: Promise<Deno.Conn> = target.protocol === "https:"
    ? Deno.connectTls({ hostname, port: Number(target.port || 443) })
    : Deno.connect({ hostname, port: Number(target.port || 80) });
  return new Promise((resolve, reject) => {
    const abort = () => {
      reject(signal.reason);
      connecting.then((conn) => conn.close(), () => {/* no connection to close */});
    };
    signal.addEventListener("abort", abort, { once: true });
    connecting.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/**
 * The head of a request with `headers`; with a `length`, its own content-length (the caller's
 * content-length and transfer-encoding headers are dropped).
 */
export function requestHead(
  target: URL,
  method: string,
  headers: Record<string, string>,
  length: number | undefined,
): Uint8Array {
  const lines = [
    `${method} ${target.pathname}${target.search} HTTP/1.1`,
    `host: ${target.host}`,
    "connection: close",
  ];
  for (const [name, value] of Object.entries(headers)) {
    // A line break in a value would start a header (or a request) of its own.
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`Invalid header: ${name}`);
    const lower = name.toLowerCase();
    if (length !== undefined && (lower === "content-length" || lower === "transfer-encoding")) continue;
    lines.push(`${name}: ${value}`);
  }
  if (length !== undefined) lines.push(`content-length: ${length}`);
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n");
}

/** Reads until the answer is complete by its framing (or the server closes), then parses it. */
async function readAnswer(conn: Deno.Conn): Promise<PlainAnswer> {
  let buffer = new Uint8Array(16 * 1024);
  let length = 0;
  let parsed: Head | undefined;
  while (true) {
    if (length === buffer.length) {
      const bigger = new Uint8Array(buffer.length * 2);
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = await conn.read(buffer.subarray(length));
    const closed = n === null;
    if (!closed) length += n;
    const bytes = buffer.subarray(0, length);
    parsed ??= parseHead(bytes);
    if (!parsed) {
      if (closed) throw new Error("the server closed the connection before its answer's head");
      if (length > MAX_HEAD_BYTES) throw new Error("the answer's head is too large");
      continue;
    }
    const body = bodyOf(parsed, bytes.subarray(parsed.size), closed);
    if (body) return { status: parsed.status, body };
    if (closed) throw new Error("the server closed the connection in the middle of its answer");
  }
}

interface Head {
  status: number;
  /** Bytes of the head, its blank line included. */
  size: number;
  contentLength?: number;
  chunked: boolean;
}

/** The answer's head once all of it is in `bytes`, else undefined. */
function parseHead(bytes: Uint8Array): Head | undefined {
  const end = indexOf(bytes, HEAD_END);
  if (end < 0) return undefined;
  const [statusLine, ...fields] = decoder.decode(bytes.subarray(0, end)).split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  if (!status) throw new Error(`not an HTTP/1.1 answer: ${statusLine.slice(0, 80)}`);
  const head: Head = { status: Number(status), size: end + HEAD_END.length, chunked: false };
  for (const field of fields) {
    const colon = field.indexOf(":");
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field.slice(colon + 1).trim();
    if (name === "content-length") head.contentLength = Number(value);
    if (name === "transfer-encoding") head.chunked = /chunked/i.test(value);
  }
  return head;
}

/** The end of a chunked body without trailers: the last chunk (size 0) and the blank line. */
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/** The body when `rest` (what follows the head) holds all of it by the head's framing, else null. */
function bodyOf(head: Head, rest: Uint8Array, closed: boolean): Uint8Array | null {
  if (head.chunked) {
    // Parsed once it can be whole (it may still not be: dechunk says), not again at every read;
    // with trailers, once the server closes.
    const ended = indexOf(rest, LAST_CHUNK, Math.max(0, rest.length - LAST_CHUNK.length)) >= 0;
    return ended || closed ? dechunk(rest) : null;
  }
  if (head.contentLength !== undefined) {
    return rest.length >= head.contentLength ? rest.slice(0, head.contentLength) : null;
  }
  return closed ? rest.slice() : null;
}

/** A chunked body's bytes once its last chunk is in, else null. */
function dechunk(rest: Uint8Array): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (true) {
    const lineEnd = indexOf(rest, HEAD_END.subarray(0, 2), at);
    if (lineEnd < 0) return null;
    const size = parseInt(decoder.decode(rest.subarray(at, lineEnd)).split(";")[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error("a malformed chunk in the answer");
    const start = lineEnd + 2;
    // The last chunk (size 0) ends the body; trailers, if any, are not read.
    if (size === 0) return concat(parts);
    if (rest.length < start + size + 2) return null;
    parts.push(rest.subarray(start, start + size));
    at = start + size + 2;
  }
}

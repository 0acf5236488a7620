/**
 * Reading request bodies with a size limit and a nesting limit; JSON bodies use tagged values, CBOR
 * bodies carry them natively.
 */
import type { Context } from "hono";
import { z } from "zod";
import { PagletError } from "../../agents/errors.ts";
import { decodeCbor } from "../../agents/cbor.ts";
import { concat } from "../../agents/bytes.ts";
import { findNonPlainData, parseTagged, stringifyTagged } from "../../agents/wire.ts";
import { endAfterAnswer, idleTimeoutOf, watchBody } from "./connection_gate.ts";
import { arrivingBody, type ArrivingBodyOptions } from "../arriving_body.ts";
import { statusOf } from "./status.ts";

/**
 * A body declared up to this size is read in one piece (Deno's fast path) and must arrive whole
 * within the connection's idle timeout (connection_gate.ts, {@link watchBody}); a larger one, or
 * one without a length, is streamed, and must only keep moving ({@link streamedBody}).
 */
export const WHOLE_BODY_BYTES = 1024 * 1024;

/**
 * Reads the whole body, failing with 413 past `maxBytes`. A declared Content-Length is checked
 * before reading; a body up to {@link WHOLE_BODY_BYTES} is then read in one piece (the fast path),
 * a larger one or one without a length is streamed and counted as it arrives. A body read in one
 * piece that has not arrived within the idle timeout ends its connection, and the read fails
 * (`bad_request`); a streamed one that stops arriving fails `timeout` ({@link streamedBody}).
 */
export function readBytes(c: Context, maxBytes: number): Promise<Uint8Array> {
  return readRequestBytes(c.req.raw, maxBytes);
}

/** {@link readBytes} of a request served outside Hono (http/message_route.ts). */
export async function readRequestBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const header = request.headers.get("content-length") ?? undefined;
  const declared = header === undefined ? NaN : Number(header);
  if (declared > maxBytes) {
    throw tooLarge(`Body of ${declared} bytes exceeds the limit of ${maxBytes}`);
  }
  // Touching `request.body` materialises a stream and takes Deno off its fast path: read a small
  // declared length in one piece without it.
  if (declared <= WHOLE_BODY_BYTES) {
    const watch = watchBody(request);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await bodyOrShort(request.arrayBuffer(), declared));
    } finally {
      watch.done();
    }
    if (bytes.length > maxBytes) {
      throw tooLarge(`Body exceeds the limit of ${maxBytes} bytes`);
    }
    return bytes;
  }
  const body = streamedBody(request, "Request body");
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await bodyOrShort(reader.read(), declared);
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(`Body exceeds the limit of ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return chunks.length === 1 ? chunks[0] : concat(chunks);
}

/**
 * The body of `request` read as a stream (an artifact upload, an arriving transfer, a body too
 * large to read in one piece), given up once it stops arriving ({@link arrivingBody}): a read that
 * waits the host's idle timeout ({@link idleTimeoutOf}) for the next bytes fails with `timeout`
 * (504, "`what` stopped arriving"), and the connection ends once that answer is sent
 * ({@link endAfterAnswer}): Deno's server would otherwise wait for the rest of the body, which the
 * client may never send. Nothing of the body is left unread then (nothing came), so the client
 * loses no answer to the cut. With `sooner`, the limit shortens once its signal aborts
 * ({@link ArrivingBodyOptions.sooner}). The body of a request the gate did not serve (a host called
 * in-process) comes as it is.
 */
export function streamedBody(
  request: Request,
  what: string,
  sooner?: ArrivingBodyOptions["sooner"],
): ReadableStream<Uint8Array> | null {
  const body = request.body;
  const limitMs = idleTimeoutOf(request);
  if (!body || limitMs === null) return body;
  return arrivingBody(body, { limitMs, what, sooner, onStalled: () => endAfterAnswer(request) });
}

const decoder = new TextDecoder();

/** Reads a JSON object body (tagged values restored); an empty body is `{}`. */
export function readJson<T = Record<string, unknown>>(c: Context, maxBytes: number): Promise<T> {
  return readRequestJson<T>(c.req.raw, maxBytes);
}

/**
 * {@link readJson} of a request served outside Hono (http/message_route.ts). Not an async
 * function: every message reads its body here, and each async layer costs a promise and a turn
 * of the microtask queue.
 */
export function readRequestJson<T = Record<string, unknown>>(
  request: Request,
  maxBytes: number,
): Promise<T> {
  const header = request.headers.get("content-length");
  const declared = header === null ? NaN : Number(header);
  if (declared <= maxBytes && declared <= WHOLE_BODY_BYTES) {
    // The server delivers exactly the declared length: read it as text in one piece.
    const watch = watchBody(request);
    return request.text().then((text) => {
      watch.done();
      return jsonObject<T>(text);
    }, (err) => {
      watch.done();
      throw shortBody(err, declared);
    });
  }
  return readRequestBytes(request, maxBytes).then((bytes) => jsonObject<T>(decoder.decode(bytes)));
}

/** A JSON body's object (tagged values restored); an empty body is `{}`. */
function jsonObject<T>(text: string): T {
  if (text.length === 0) return {} as T;
  checkJsonDepth(text);
  const value = parseTagged(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new PagletError("bad_request", "The body must be a JSON object");
  }
  return value as T;
}

/**
 * Reads a CBOR map body (http/message_route.ts). One nested deeper than {@link MAX_BODY_DEPTH}
 * answers `malformed_cbor` before it is decoded.
 */
export function readRequestCbor(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  return readRequestBytes(request, maxBytes).then(cborMap);
}

function cborMap(bytes: Uint8Array): Record<string, unknown> {
  const value = decodeCbor(bytes, { maxDepth: MAX_BODY_DEPTH });
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new PagletError("bad_request", "The CBOR body must be a map");
  }
  // CBOR's tags also decode to errors, regular expressions, typed arrays, NaN and tags of their own:
  // none is data a message or a state may carry (a JSON body cannot hold them at all).
  const bad = findNonPlainData(value);
  if (bad !== null) {
    throw new PagletError(
      "invalid_request",
      `The CBOR body holds what is not plain data at ${bad}: plain objects, arrays, strings, finite ` +
        `numbers, booleans, null, bigints, bytes, dates, maps and sets only`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * A body read that fails because the client stopped sending (a body shorter than its
 * Content-Length, a connection closed mid-body) is the client's fault: `bad_request`, never 500.
 */
async function bodyOrShort<T>(reading: Promise<T>, declared: number): Promise<T> {
  try {
    return await reading;
  } catch (err) {
    throw shortBody(err, declared);
  }
}

function shortBody(err: unknown, declared: number): PagletError {
  if (err instanceof PagletError) return err;
  const expected = Number.isFinite(declared) ? ` (Content-Length ${declared})` : "";
  return new PagletError(
    "bad_request",
    `The request body ended before it was complete${expected}: ${(err as Error).message}`,
  );
}

/**
 * Deepest nesting a body may have: of arrays and objects in JSON; of arrays, maps and tags in CBOR
 * (a value nests no deeper in CBOR than in tagged JSON, so a message relayed from one to the other
 * passes both).
 */
export const MAX_BODY_DEPTH = 200;

/**
 * Rejects JSON nested deeper than {@link MAX_BODY_DEPTH} before parsing it: a body of megabytes of
 * `[` would otherwise hold the kernel thread in the parser for seconds. One pass over the text,
 * stopping at the first level too deep; strings are skipped so brackets inside them do not count.
 */
export function checkJsonDepth(text: string): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
    } else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      if (++depth > MAX_BODY_DEPTH) {
        throw new PagletError(
          "malformed_json",
          `The JSON body nests deeper than ${MAX_BODY_DEPTH} levels (at character ${i})`,
        );
      }
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) {
      depth--;
    }
  }
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
/** The init of a 200 JSON answer, shared (every message's reply is one). */
const JSON_OK: ResponseInit = { status: 200, headers: JSON_HEADERS };

/** A JSON response with tagged values. */
export function json(value: unknown, status = 200): Response {
  let text: string;
  try {
    text = stringifyTagged(value);
  } catch (err) {
    // Past V8's longest string (~512 MiB of JSON): the work was done, only its answer cannot be written.
    if (!(err instanceof RangeError)) throw err;
    throw new PagletError(
      "payload_too_large",
      `The answer is too large to send as JSON (${err.message}); the request itself was carried out. ` +
        `Ask with Accept: application/cbor, or have it answer less`,
    );
  }
  return new Response(text, status === 200 ? JSON_OK : { status, headers: JSON_HEADERS });
}

/** The documented error response. */
export function errorResponse(err: PagletError): Response {
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  const status = statusOf(err.code);
  if (status === 401) headers["www-authenticate"] = "Bearer";
  if (err.code === "starting" || err.code === "too_many_connections") headers["retry-after"] = "1";
  return new Response(JSON.stringify({ error: err.toWire() }), { status, headers });
}

/** `payload_too_large` for a request body, with where the limit comes from and the way around it. */
function tooLarge(what: string): PagletError {
  return new PagletError(
    "payload_too_large",
    `${what} (the host's --max-body-bytes): send large data as an artifact and pass its reference`,
  );
}

/**
 * A whole number of a query string, written in decimal digits (`0x10`, `1e3` or ` 5` are no number
 * here, as on the command line), then checked by `range`.
 */
export function queryInt(range: z.ZodNumber) {
  return z.string().regex(/^\d{1,16}$/, "must be a whole number in decimal digits").transform(Number).pipe(
    range,
  );
}

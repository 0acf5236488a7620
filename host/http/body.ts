/** Reading request bodies with a size limit; JSON bodies use tagged values. */
import type { Context } from "hono";
import { PagletError } from "../../agents/errors.ts";
import { parseTagged, stringifyTagged } from "../../agents/wire.ts";
import { statusOf } from "./status.ts";

/**
 * Reads the whole body, failing with 413 past `maxBytes`. A declared Content-Length is checked
 * before reading and then read in one piece (the fast path); a body without one is streamed and
 * counted as it arrives.
 */
export async function readBytes(c: Context, maxBytes: number): Promise<Uint8Array> {
  const header = c.req.header("content-length");
  const declared = header === undefined ? NaN : Number(header);
  if (declared > maxBytes) {
    throw new PagletError("payload_too_large", `Body of ${declared} bytes exceeds the limit of ${maxBytes}`);
  }
  // Touching `request.body` materialises a stream and takes Deno off its fast path: read the
  // declared length in one piece without it.
  if (Number.isFinite(declared)) {
    const bytes = new Uint8Array(await c.req.raw.arrayBuffer());
    if (bytes.length > maxBytes) {
      throw new PagletError("payload_too_large", `Body exceeds the limit of ${maxBytes} bytes`);
    }
    return bytes;
  }
  const body = c.req.raw.body;
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new PagletError("payload_too_large", `Body exceeds the limit of ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

const decoder = new TextDecoder();

/** Reads a JSON object body (tagged values restored); an empty body is `{}`. */
export async function readJson<T = Record<string, unknown>>(c: Context, maxBytes: number): Promise<T> {
  const header = c.req.header("content-length");
  let text: string;
  if (header !== undefined && Number(header) <= maxBytes) {
    // The server delivers exactly the declared length: read it as text in one piece.
    text = await c.req.raw.text();
  } else {
    text = decoder.decode(await readBytes(c, maxBytes));
  }
  if (text.length === 0) return {} as T;
  const value = parseTagged(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new PagletError("bad_request", "The body must be a JSON object");
  }
  return value as T;
}

/** A JSON response with tagged values. */
export function json(value: unknown, status = 200): Response {
  return new Response(stringifyTagged(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

/** The documented error response. */
export function errorResponse(err: PagletError): Response {
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  const status = statusOf(err.code);
  if (status === 401) headers["www-authenticate"] = "Bearer";
  if (err.code === "starting" || err.code === "too_many_connections") headers["retry-after"] = "1";
  return new Response(JSON.stringify({ error: err.toWire() }), { status, headers });
}

/**
 * Byte buffers joined end to end, and searched: a transfer's CBOR pieces (host/transfers/envelope.ts),
 * a request's head and body and an answer's framing (host/plain_http.ts), a CBOR encoding and its large
 * byte strings (cbor.ts). Imports nothing, so the command line's path can use it.
 *
 * @module
 */

/** `parts` in order, in one new buffer. */
export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Where `needle` first occurs in `bytes` from `from` on, or −1. */
export function indexOf(bytes: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= bytes.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

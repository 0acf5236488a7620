/**
 * The data: URL a bundle is imported from: the one form a compiled binary imports at run time.
 *
 * Deno's cost of importing a data: URL grows with the length of the URL (it copies and scans the
 * specifier many times: about 100 ms per MiB of URL on this machine kind, against ~25 ms to import
 * the same module from a file), so the URL carries the module's bytes as they are and
 * percent-encodes only the bytes a URL cannot carry verbatim: 1.0× the module's size instead of
 * base64's 1.33×, which makes the import about a third cheaper.
 */
import { Buffer } from "node:buffer";

/**
 * Bytes the URL parser would drop or read as syntax: controls (tabs and newlines are removed,
 * leading and trailing ones trimmed), `%` (an escape), `#` (the fragment), `?` (the query), DEL,
 * every byte of a multi-byte UTF-8 sequence, and spaces at the very end (trimmed).
 */
// deno-lint-ignore no-control-regex -- control bytes are exactly what must be escaped
const UNSAFE = /[\x00-\x1f%#?\x7f-\xff]| +$/g;

const escape = (chars: string): string => {
  let out = "";
  for (let i = 0; i < chars.length; i++) {
    out += `%${chars.charCodeAt(i).toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
};

export function dataUrlOf(source: Uint8Array): string {
  // latin1: one character per byte, so the escapes are of bytes, as the URL's decoding expects.
  const bytes = Buffer.from(source.buffer, source.byteOffset, source.length).toString("latin1");
  return `data:text/javascript,${bytes.replace(UNSAFE, escape)}`;
}

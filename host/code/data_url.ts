/**
 * The data: URL a bundle is imported from: the one form a compiled binary imports at run time.
 *
 * Deno's cost of importing a data: URL grows with the length of the URL (it copies and scans the
 * specifier many times: about 100 ms per MiB of URL on this machine kind, against ~25 ms to import
 * the same module from a file), so the URL carries the module's bytes as they are and
 * percent-encodes only the bytes a URL cannot carry verbatim: 1.0× the module's size instead of
 * base64's 1.33×, which makes the import about a third cheaper.
 */
/**
 * Characters the URL parser would drop or read as syntax: controls (tabs and newlines are removed,
 * leading and trailing ones trimmed), `%` (an escape), `#` (the fragment), `?` (the query), DEL,
 * and spaces at the very end (trimmed); and runs of non-ASCII characters, written as the
 * percent-escapes of their UTF-8 bytes.
 */
// deno-lint-ignore no-control-regex -- control bytes are exactly what must be escaped
const UNSAFE = /[\x00-\x1f%#?\x7f]| +$|[^\x00-\x7f]+/g;

const escape = (chars: string): string => {
  if (chars.charCodeAt(0) > 0x7f) return encodeURIComponent(chars);
  let out = "";
  for (let i = 0; i < chars.length; i++) {
    out += `%${chars.charCodeAt(i).toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
};

const utf8 = new TextDecoder();

export function dataUrlOf(source: Uint8Array): string {
  // Decoded as the importer decodes a module (UTF-8, invalid bytes as U+FFFD), then escaped:
  // the URL's percent-decoding gives back the same module text.
  return `data:text/javascript,${utf8.decode(source).replace(UNSAFE, escape)}`;
}

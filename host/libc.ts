/**
 * libc through Deno FFI, for the few system calls Deno has no API for: CPU affinity and thread
 * priority (host/compute/), the C heap's top pad (native_heap.ts), file system sizes (statfs.ts), a
 * benchmark's child CPU time (scripts/bench/child_cpu.ts). Each caller opens the symbols it needs,
 * once per thread ({@link libcOnce}). Off Linux, without glibc's `libc.so.6` (musl) or without FFI
 * permission, the caller gets the reason instead of the functions: nothing here throws.
 *
 * @example
 * ```ts
 * const libc = libcOnce({ getpid: { parameters: [], result: "i32" } });
 * const { symbols, error } = libc();
 * console.log(symbols ? symbols.getpid() : `no pid: ${error}`);
 * ```
 *
 * @module
 */

/** The functions of `S` from libc, or why they are not there. */
export type OpenedLibc<S extends Deno.ForeignLibraryInterface> =
  | { symbols: Deno.DynamicLibrary<S>["symbols"]; error?: undefined }
  | { symbols: null; error: string };

/** Opens libc with `symbols` (a symbol it lacks fails the whole open, unless marked `optional`). */
export function openLibc<const S extends Deno.ForeignLibraryInterface>(symbols: S): OpenedLibc<S> {
  if (Deno.build.os !== "linux") return { symbols: null, error: `not supported on ${Deno.build.os}` };
  try {
    return { symbols: Deno.dlopen("libc.so.6", symbols).symbols };
  } catch (err) {
    return { symbols: null, error: `cannot load libc.so.6: ${err instanceof Error ? err.message : err}` };
  }
}

/** {@link openLibc} on the first call; every later call answers the same. */
export function libcOnce<const S extends Deno.ForeignLibraryInterface>(symbols: S): () => OpenedLibc<S> {
  let opened: OpenedLibc<S> | undefined;
  return () => opened ??= openLibc(symbols);
}

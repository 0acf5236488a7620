/**
 * The C heap's freed memory, kept for reuse while compute threads run: glibc's `mallopt(M_TOP_PAD)` and
 * `malloc_trim` over Deno FFI.
 *
 * Native big-number code (GMP, in the Pi example) allocates and frees megabytes of temporaries for each
 * large product. By default glibc hands freed memory at the top of a thread's heap back to the kernel
 * almost at once, so the next product touches fresh pages that the kernel must fault in and zero again.
 * While a holder holds, each heap keeps up to 64 MiB of freed memory at its top; when the
 * last holder lets go, the default comes back and `malloc_trim(0)` returns the kept memory, so an idle
 * host keeps nothing of it. A holder that lets go as its process is about to end may skip the trim
 * (~12 ms after a 1,000,000-digit Pi job): the process's end gives the memory back.
 *
 * Measured on one thread (2 vCPUs, glibc 2.36; docs/performance.md): the right batch of a 1,000,000-digit
 * Pi job took 210–221 ms with the pad against 236–244 ms without, with ~25% fewer page faults.
 *
 * Nothing here throws: off Linux, without glibc or without FFI permission, holding does nothing.
 *
 * @module
 */
import { libcOnce } from "../libc.ts";

/** `mallopt`'s parameter number for the top pad (malloc.h). */
const M_TOP_PAD = -2;
/** What each heap may keep at its top while held. */
const KEPT_TOP_BYTES = 64 << 20;
/** glibc's default top pad (mallopt(3)). */
const DEFAULT_TOP_BYTES = 128 << 10;

const SYMBOLS = {
  mallopt: { parameters: ["i32", "i32"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
} as const;

// Without glibc (musl) or FFI permission, the heap keeps glibc's (or the platform's) defaults.
const libc = libcOnce(SYMBOLS);
let holders = 0;

/**
 * Keeps freed heap memory for reuse until the returned function is called (once; later calls do
 * nothing). Holders nest: the default comes back with the last, which trims the heap unless it is
 * called with `trim` false.
 *
 * @example
 * ```ts
 * const release = holdFreedMemory();
 * try {
 *   runProducts();
 * } finally {
 *   release();
 * }
 * ```
 */
export function holdFreedMemory(): (trim?: boolean) => void {
  const lib = libc().symbols;
  if (!lib) return () => {};
  if (holders++ === 0) lib.mallopt(M_TOP_PAD, KEPT_TOP_BYTES);
  let held = true;
  return (trim = true) => {
    if (!held) return;
    held = false;
    if (--holders > 0) return;
    lib.mallopt(M_TOP_PAD, DEFAULT_TOP_BYTES);
    if (trim) lib.malloc_trim(0n);
  };
}

/**
 * CPU time (user + system) of the child processes this process has waited for, through libc's
 * `getrusage(RUSAGE_CHILDREN)` over Deno FFI: read before and after a child runs, the difference is
 * that child's CPU, all its threads included (only children already reaped count, so a server still
 * running is not in it). Linux only; elsewhere {@link childrenCpuMs} answers null.
 *
 * @module
 */
import { libcOnce } from "../../host/libc.ts";

const RUSAGE_CHILDREN = -1;

// No libc.so.6 (musl) or no FFI permission: no CPU figures.
const libc = libcOnce({ getrusage: { parameters: ["i32", "buffer"], result: "i32" } });

/** Milliseconds of CPU the waited-for children used so far, or null where it cannot be read. */
export function childrenCpuMs(): number | null {
  const lib = libc().symbols;
  if (!lib) return null;
  // struct rusage starts with ru_utime and ru_stime, two struct timevals (seconds, microseconds).
  const usage = new BigInt64Array(18);
  if (lib.getrusage(RUSAGE_CHILDREN, new Uint8Array(usage.buffer)) !== 0) return null;
  const [us, uus, ss, sus] = [0, 1, 2, 3].map((i) => Number(usage[i]));
  return (us + ss) * 1000 + (uus + sus) / 1000;
}

/** Whether this host can pin threads to CPUs (Linux sched_setaffinity through FFI). */
let cached: { supported: boolean; error?: string } | undefined;

export function affinityStatus(): { supported: boolean; error?: string } {
  if (cached) return cached;
  if (Deno.build.os !== "linux") {
    return cached = { supported: false, error: `not supported on ${Deno.build.os}` };
  }
  try {
    const lib = Deno.dlopen("libc.so.6", {
      sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
    });
    const mask = new Uint8Array(128);
    const ok = lib.symbols.sched_getaffinity(0, BigInt(mask.length), mask) === 0;
    lib.close();
    cached = ok ? { supported: true } : { supported: false, error: "sched_getaffinity failed" };
  } catch (err) {
    cached = { supported: false, error: (err as Error).message };
  }
  return cached;
}

/**
 * File system sizes (`statfs`), read off the main thread so that a slow mount does not stall the
 * host.
 *
 * Deno has no statfs of its own. On Linux it is libc's, called through FFI on a blocking-call
 * thread (`nonblocking`); elsewhere, or without FFI, `node:fs/promises`' — imported on the first
 * reading only, as importing a Node module loads Deno's Node polyfills (40-150 ms of CPU), which
 * the host's start (compute-slots reads the disk at once) should not pay.
 *
 * @module
 */

/** Blocks of the file system holding `path`, and their size in bytes. */
export interface FsBlocks {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

/** `struct statfs` on 64-bit Linux (x86_64, aarch64): 120 bytes, the counts as 8-byte words. */
const STATFS_BYTES = 120;
const SYMBOLS = { statfs: { parameters: ["buffer", "buffer"], result: "i32", nonblocking: true } } as const;

let libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null | undefined;
let nodeFs: Promise<typeof import("node:fs/promises")> | undefined;

function linuxLibc(): typeof libc {
  if (libc !== undefined) return libc;
  try {
    const linux64 = Deno.build.os === "linux" && ["x86_64", "aarch64"].includes(Deno.build.arch);
    libc = linux64 ? Deno.dlopen("libc.so.6", SYMBOLS).symbols : null;
  } catch {
    libc = null; // no FFI permission, or no glibc: node's statfs below
  }
  return libc;
}

export async function statfs(path: string): Promise<FsBlocks> {
  const c = linuxLibc();
  if (!c) {
    nodeFs ??= import("node:fs/promises");
    const { bsize, blocks, bfree, bavail } = await (await nodeFs).statfs(path);
    return { bsize, blocks, bfree, bavail };
  }
  const buf = new BigInt64Array(STATFS_BYTES / 8);
  if (await c.statfs(new TextEncoder().encode(`${path}\0`), buf) !== 0) {
    throw new Deno.errors.NotFound(`statfs failed for ${path}`);
  }
  return { bsize: Number(buf[1]), blocks: Number(buf[2]), bfree: Number(buf[3]), bavail: Number(buf[4]) };
}

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
import { libcOnce } from "./libc.ts";

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

/** The struct layout above is 64-bit Linux's; elsewhere (or without libc) node's statfs below. */
const LINUX_64 = Deno.build.os === "linux" && ["x86_64", "aarch64"].includes(Deno.build.arch);
const libc = libcOnce(SYMBOLS);
let nodeFs: Promise<typeof import("node:fs/promises")> | undefined;

export async function statfs(path: string): Promise<FsBlocks> {
  const c = LINUX_64 ? libc().symbols : null;
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

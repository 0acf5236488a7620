/**
 * File system sizes (`statfs`), read asynchronously so that a slow mount does not stall the host.
 *
 * Deno has no statfs of its own; `node:fs/promises` has. It is imported on the first reading, not
 * with the host: importing a Node module loads Deno's Node polyfills (40-150 ms of CPU), which a
 * host that is never asked for its disk never needs.
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

let nodeFs: Promise<typeof import("node:fs/promises")> | undefined;

export async function statfs(path: string): Promise<FsBlocks> {
  nodeFs ??= import("node:fs/promises");
  const { bsize, blocks, bfree, bavail } = await (await nodeFs).statfs(path);
  return { bsize, blocks, bfree, bavail };
}

/**
 * A small disk for the disk-full tests: a tmpfs the test mounts (root only) and fills, so that the
 * writes of a host whose data dir is on it fail as on a full disk.
 */
import { assert } from "./assert.ts";

/** Whether this process may mount a tmpfs (the disk-full tests are skipped otherwise). */
export const canMount = Deno.uid() === 0;

async function run(cmd: string, ...args: string[]): Promise<boolean> {
  return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output().catch(() => null))
    ?.success ?? false;
}

/** Mounts a tmpfs of `mib` MiB, runs `fn` with its path, and unmounts it (stop hosts on it in `fn`). */
export async function withSmallDisk(mib: number, fn: (mount: string) => Promise<void>): Promise<void> {
  const mount = await Deno.makeTempDir({ prefix: "paglets-test-full-" });
  assert(await run("mount", "-t", "tmpfs", "-o", `size=${mib}m`, "tmpfs", mount), "mount a tmpfs");
  try {
    await fn(mount);
  } finally {
    await run("umount", mount);
    await Deno.remove(mount, { recursive: true }).catch(() => {/* still mounted: left for the OS */});
  }
}

/** Writes zeros into `path` until the filesystem is full. */
export async function fill(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  try {
    for (let i = 0; i < 100_000; i++) await file.write(chunk);
    throw new Error("the tmpfs did not fill up");
  } catch (err) {
    if (!(err instanceof Error) || !/space|ENOSPC|full/i.test(err.message)) throw err;
  } finally {
    file.close();
  }
}

/**
 * Data folders of embedded hosts that a killed command left behind (`paglets run`, `examples pi`
 * and the tour remove theirs as they end, also on Ctrl-C; SIGKILL gives them no chance). Each
 * embedded host removes those it finds: a folder of that name, over a minute old, whose host lock
 * nobody holds (a live host holds its lock for its whole life, and the OS releases it with the
 * process), or with no lock file after ten minutes (killed before its host opened it).
 *
 * @module
 */
import { join } from "../agents/paths.ts";
import { DataDirLock } from "../host/data_dir_lock.ts";

/** The prefix of an embedded host's data folder (cli/entry.ts). */
export const EMBEDDED_PREFIX = "paglets-embedded-";

const MIN_AGE_MS = 60_000;
const UNLOCKED_AGE_MS = 600_000;

/** Removes the left-over folders beside `own` (best effort; returns how many went). */
export async function sweepEmbeddedLeftovers(own: string): Promise<number> {
  const parent = join(own, "..");
  let removed = 0;
  try {
    for await (const entry of Deno.readDir(parent)) {
      const dir = join(parent, entry.name);
      if (!entry.isDirectory || !entry.name.startsWith(EMBEDDED_PREFIX) || dir === own) continue;
      if (await isLeftOver(dir)) {
        await Deno.remove(dir, { recursive: true });
        removed++;
      }
    }
  } catch { /* best effort: the next embedded host tries again */ }
  return removed;
}

async function isLeftOver(dir: string): Promise<boolean> {
  const age = Date.now() - ((await Deno.stat(dir)).mtime?.getTime() ?? Date.now());
  if (age < MIN_AGE_MS) return false;
  const locked = await Deno.stat(join(dir, "host.lock")).then(() => true, () => false);
  if (!locked) return age >= UNLOCKED_AGE_MS;
  // The lock a host takes on its data dir: free, nobody runs there (released at once).
  try {
    DataDirLock.acquire(dir).release();
    return true;
  } catch {
    return false;
  }
}

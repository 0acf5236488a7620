/**
 * A cross-process exclusive file lock (flock(2) through Deno's `FsFile.tryLock`) with a bounded
 * wait: tried every 50 ms until the timeout. Other programs that flock the same file (Python's
 * `fcntl.flock`, util-linux `flock`) take turns with it; so do two holders in one process, since
 * each opens the file anew.
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";
import { sleep } from "../../agents/timers.ts";

const RETRY_MS = 50;

/** A held lock; `release()` unlocks and closes (also safe to call twice). */
export interface HeldLock {
  readonly path: string;
  /** Milliseconds spent waiting for it. */
  readonly waitedMs: number;
  release(): void;
}

/**
 * Takes the lock at `path` (created if missing), waiting at most `timeoutSeconds`.
 * Fails with `timeout` naming the file and the wait.
 *
 * @example
 * ```ts
 * const lock = await acquireFileLock("/tmp/results.sqlite.paglets.lock", 60);
 * try { /* write *\/ } finally { lock.release(); }
 * ```
 */
export async function acquireFileLock(path: string, timeoutSeconds: number): Promise<HeldLock> {
  const start = performance.now();
  const deadline = start + Math.max(0, timeoutSeconds) * 1000;
  const file = await Deno.open(path, { read: true, write: true, create: true });
  try {
    while (!(await file.tryLock(true))) {
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new PagletError(
          "timeout",
          `could not lock ${path} within ${timeoutSeconds} s: another process holds it (raise --db-lock-timeout or retry later)`,
        );
      }
      await sleep(Math.min(RETRY_MS, left));
    }
  } catch (err) {
    file.close();
    throw err;
  }
  let held = true;
  return {
    path,
    waitedMs: performance.now() - start,
    release() {
      if (!held) return;
      held = false;
      file.close(); // closing the descriptor drops the flock
    },
  };
}

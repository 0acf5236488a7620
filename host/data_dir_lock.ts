/**
 * An OS file lock on a host's data directory, held for the host's life: a second host on the same
 * directory would take over the first one's agents and corrupt their records. The lock is advisory
 * (flock) and belongs to the open file, so the OS releases it when the process ends in any way,
 * SIGKILL included; the file keeps the holder's PID for the refusal message.
 */
import { join } from "../agents/paths.ts";
import { PagletError } from "../agents/errors.ts";

export class DataDirLock {
  readonly #file: Deno.FsFile;
  #released = false;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Takes the lock on `dataDir` or fails with `data_dir_in_use` naming the PID that holds it. */
  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, "host.lock");
    const file = Deno.openSync(path, { read: true, write: true, create: true });
    if (!file.tryLockSync(true)) {
      file.close();
      const pid = Deno.readTextFileSync(path).trim() || "unknown";
      throw new PagletError(
        "data_dir_in_use",
        `data dir in use by PID ${pid}: another host runs on ${dataDir}; stop it or pass another --data-dir`,
      );
    }
    file.truncateSync(0);
    file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    return new DataDirLock(file);
  }

  /** Lets another host take the directory (at stop). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#file.close();
  }
}

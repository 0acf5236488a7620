/**
 * Running out of file descriptors, told apart from other failures. A request that fails because the
 * process has no descriptor left (EMFILE, ENFILE: a file it had to open, a temp file of an upload)
 * answers `503 too_many_connections` with `Retry-After`: nothing is wrong with the request, and the
 * same call works once connections end.
 *
 * Reading an error's stack then could end the process. Deno 2.9 maps a stack's frames through each
 * module's source map, which it reads from its cache on disk (`$DENO_DIR/gen/...`); when that open
 * fails, it goes on to a stack-size probe of the thread (`pthread_getattr_np`, which opens
 * /proc/self/maps) that fails too, and Deno panics (an assertion in its `stacker` crate) instead of
 * throwing. So the host reads a stack only when a descriptor can be had.
 */
import { PagletError } from "../agents/errors.ts";

/** Whether `err` says the process (EMFILE, os error 24) or the system (ENFILE, 23) has no descriptor left. */
export function isOutOfDescriptors(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e || typeof e !== "object" || err instanceof PagletError) return false;
  return e.code === "EMFILE" || e.code === "ENFILE" || /os error 2[34]\b/.test(e.message ?? "");
}

/** `err` as `too_many_connections` when the process ran out of descriptors, else `err` itself. */
export function outOfDescriptorsError(err: unknown): unknown {
  if (!isOutOfDescriptors(err)) return err;
  return new PagletError(
    "too_many_connections",
    `The host has no file descriptors left for this request: try again shortly (${(err as Error).message})`,
  );
}

/**
 * What to report of an internal error: its stack when one can be read safely, else its message
 * (see the module's doc: formatting a stack needs a descriptor).
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (!descriptorsAvailable(1)) {
    return `${err.name}: ${err.message} (no stack: no file descriptor left to read it)`;
  }
  return err.stack ?? err.message;
}

/**
 * Descriptors a new worker thread is sure to find: its event loop and channel take a few, and its
 * modules' files while it loads them; a margin, since Deno panics when one is missing.
 */
export const WORKER_DESCRIPTORS = 32;

/**
 * Fails with `too_many_connections` unless the process can open `count` more files now. Starting a
 * worker thread takes several descriptors, and Deno 2.9 panics (ending the process) instead of
 * throwing when it cannot get them: the pools ask here first.
 */
export function requireDescriptors(count: number, what: string): void {
  if (descriptorsAvailable(count)) return;
  throw new PagletError(
    "too_many_connections",
    `The host has no file descriptors left to ${what}: try again shortly`,
  );
}

/**
 * Whether the process can open `count` more files now (as far as opening /dev/null that often
 * says; no /dev/null, or no permission to read it, tells nothing about descriptors).
 */
function descriptorsAvailable(count: number): boolean {
  const opened: Deno.FsFile[] = [];
  try {
    for (let i = 0; i < count; i++) opened.push(Deno.openSync("/dev/null"));
    return true;
  } catch (err) {
    return !isOutOfDescriptors(err);
  } finally {
    for (const file of opened) file.close();
  }
}

/**
 * Threads of this process the host could not end: Deno cannot stop a worker that runs an endless
 * JavaScript loop (`terminate()` waits for a turn of its event loop that never comes), so such a
 * thread runs until the process exits. The agent worker pool and compute-slots count theirs here,
 * and a command that ran an embedded host exits explicitly when there are any, rather than wait
 * for them (main.ts).
 *
 * The count lives on `globalThis`: the host's code may be a bundle with its own copy of this
 * module, and the CLI must see the count the host made.
 *
 * @module
 */

const KEY = Symbol.for("paglets.strayThreads");
const counts = globalThis as unknown as Record<symbol, number | undefined>;

/** Counts one more thread that runs on after its worker was ended. */
export function noteStrayThread(): void {
  counts[KEY] = (counts[KEY] ?? 0) + 1;
}

/** Threads this process could not end, so far. */
export function strayThreads(): number {
  return counts[KEY] ?? 0;
}

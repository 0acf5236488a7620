/**
 * Pi threads started before the CLI's code loads (`paglets examples pi`, see cli/early_start.ts):
 * the pi-math service's batch threads (split_worker.ts) and an assembly thread (assembly_worker.ts).
 * Started first thing, each loads its modules on another core while the main thread loads the CLI
 * and the host, and the main thread does not pay the ~10–50 ms for which Deno blocks the thread that
 * starts a worker in the middle of the job, where it also relays the batches' messages. The pi-math
 * service takes them over (worker_pool.ts, assembly_thread.ts); whatever it did not take ends with
 * the command ({@link endEarlyPiThreads}).
 *
 * Imports nothing, so that cli/early_start.ts loads nothing more with it.
 *
 * @module
 */

/** The Pi engine's batch thread (the pi-math service's pool starts its threads from it). */
export const PI_BATCH_THREAD_URL = new URL("./split_worker.ts", import.meta.url).href;
/** The thread of a Pi assembly. */
export const PI_ASSEMBLY_THREAD_URL = new URL("./assembly_worker.ts", import.meta.url).href;

const early = new Map<string, Worker[]>();

/** Starts `count` threads of `url` now; the next taker of that URL gets them (oldest first). */
export function startPiThreadsEarly(url: string, count: number): void {
  const list = early.get(url) ?? [];
  for (let i = 0; i < count; i++) list.push(new Worker(url, { type: "module" }));
  early.set(url, list);
}

/** A thread of `url` started early (it may still be loading its modules), if one is left. */
export function takeEarlyPiThread(url: string): Worker | undefined {
  return early.get(url)?.shift();
}

/** Ends the threads started early that nothing took over. */
export function endEarlyPiThreads(): void {
  for (const list of early.values()) for (const worker of list.splice(0)) worker.terminate();
}

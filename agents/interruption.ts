/**
 * Ctrl-C of a script run by `paglets run`: work under way that others wait on ends cleanly before
 * the process does. A job group's submission stops creating jobs and tells its collector that no
 * more will come (the collector completes the group at once, not after its submission timeout); a
 * Runner releases its executors' cores. In a host, nothing interrupts: these stay idle.
 *
 * @module
 */

const controller = new AbortController();
const endings = new Set<() => Promise<void>>();

/** Aborted once the script is interrupted. */
export const interrupted: AbortSignal = controller.signal;

/** Resolves once the script is interrupted. */
export function whenInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    if (interrupted.aborted) resolve();
    else interrupted.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * Registers `end` to run when the script is interrupted (at once, if it already was); returns the
 * function that unregisters it, for work that ended on its own.
 */
export function onInterrupt(end: () => Promise<void>): () => void {
  if (interrupted.aborted) {
    void end().catch(() => {});
    return () => {};
  }
  endings.add(end);
  return () => endings.delete(end);
}

/** Interrupts the script (`paglets run` on Ctrl-C); resolves once every registered ending settled. */
export async function interrupt(): Promise<void> {
  controller.abort(new Error("interrupted"));
  const ending = [...endings];
  endings.clear();
  await Promise.allSettled(ending.map((end) => end()));
}

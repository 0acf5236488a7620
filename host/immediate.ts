/**
 * `immediate(fn)`: runs `fn` in a task of its own, after the work that is ready now (other tasks,
 * I/O callbacks), as Node's `setImmediate` does, about 10 µs later; `setTimeout(fn, 0)` waits for
 * the next timer tick (1-2 ms on Deno 2.9).
 *
 * `node:timers` is imported on the first call, not with the host: importing a Node module loads
 * Deno's Node polyfills (40-150 ms of CPU), off the path to a serving host this way. Until it has
 * loaded, a MessageChannel of its own carries each call (about 50 µs; a channel kept open would
 * keep the process alive: a port's reference cannot be dropped from its own handler on Deno 2.9).
 *
 * @module
 */
let setImmediate: ((fn: () => void) => unknown) | undefined;
let loading: Promise<unknown> | undefined;

export function immediate(fn: () => void): void {
  if (setImmediate) {
    setImmediate(fn);
    return;
  }
  loading ??= import("node:timers").then((timers) => setImmediate = timers.setImmediate);
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    channel.port1.close();
    fn();
  };
  channel.port2.postMessage(null);
}

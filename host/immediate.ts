/**
 * `immediate(fn)`: runs `fn` in a task of its own, after the work that is ready now (other tasks,
 * I/O callbacks), as Node's `setImmediate` does, about 10 µs later; `setTimeout(fn, 0)` waits for
 * the next timer tick (1-2 ms on Deno 2.9).
 *
 * Node's `setImmediate` needs `node:timers`, and importing a Node module loads Deno's Node
 * polyfills: 40-150 ms of CPU and several MiB of heap in the thread that does it. A thread that
 * calls here rarely (a host starting, an idle host, a worker with idle agents) never pays that: a
 * MessageChannel of its own carries each call (about 50 µs; a channel kept open would keep the
 * process alive: a port's reference cannot be dropped from its own handler on Deno 2.9). Once
 * calls are frequent ({@link IMPORT_AFTER_CALLS}: messages are flowing), `node:timers` is imported
 * and carries every later call.
 *
 * @module
 */
let setImmediate: ((fn: () => void) => unknown) | undefined;
let loading: Promise<unknown> | undefined;
let calls = 0;

/**
 * Calls through a MessageChannel before `node:timers` is imported. A host's start makes one or
 * two per thread; one message to an agent makes a few.
 */
export const IMPORT_AFTER_CALLS = 32;

export function immediate(fn: () => void): void {
  if (setImmediate) {
    setImmediate(fn);
    return;
  }
  if (++calls > IMPORT_AFTER_CALLS) {
    loading ??= import("node:timers").then((timers) => setImmediate = timers.setImmediate);
  }
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    channel.port1.close();
    fn();
  };
  channel.port2.postMessage(null);
}

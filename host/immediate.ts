/**
 * `immediate(fn)`: runs `fn` in a task of its own, after the work that is ready now (other tasks,
 * I/O callbacks), as Node's `setImmediate` does, about 10 µs later; `setTimeout(fn, 0)` waits for
 * the next timer tick (1-2 ms on Deno 2.9). Callbacks run once each, in call order; those queued
 * while a round runs wait for the next round.
 *
 * Node's `setImmediate` needs `node:timers`, and importing a Node module loads Deno's Node
 * polyfills: 20-40 ms of CPU and several MiB of heap in the thread that does it. A thread that
 * calls here rarely (a host starting, an idle host, a worker with idle agents, a short job) never
 * pays that: a MessageChannel carries the rounds (one message per round, about 5 µs a call
 * against 1.5 µs for `setImmediate`; the channel is closed once a round leaves nothing queued, as
 * an open one would keep the process alive: a port's reference cannot be dropped from its own
 * handler on Deno 2.9). Once calls are frequent ({@link IMPORT_AFTER_CALLS}: messages are
 * flowing), `node:timers` is imported and carries every later call.
 *
 * @module
 */
let setImmediate: ((fn: () => void) => unknown) | undefined;
let loading: Promise<unknown> | undefined;
let calls = 0;

/**
 * Calls through the channel before `node:timers` is imported. The import costs about as much as
 * 5,000-10,000 calls save (20-40 ms against ~4 µs each), so it comes once the channel has cost a
 * good part of that: a thread that stays below never pays for it, one that goes on pays little
 * more than the best choice would have. A host's start makes one or two calls per thread, one
 * message to an agent a few, a whole `examples pi` job about 40 (it used to import at 32, on its
 * last digits' way out: 20 ms).
 */
export const IMPORT_AFTER_CALLS = 4096;

/** Callbacks of the next round; the channel is open while there are some. */
const queue: (() => void)[] = [];
let channel: MessageChannel | undefined;
/** A message for the next round is on its way. */
let asked = false;

function ask(): void {
  asked = true;
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = round;
  }
  channel.port2.postMessage(null);
}

function round(): void {
  asked = false;
  const due = queue.splice(0);
  for (const fn of due) {
    try {
      fn();
    } catch (err) {
      // As a throwing setImmediate callback would: the error is uncaught, the round goes on.
      reportError(err);
    }
  }
  if (asked) return; // a callback queued more: its round is asked for
  channel!.port1.close();
  channel = undefined;
}

export function immediate(fn: () => void): void {
  // Once imported, setImmediate carries the calls, after the rounds already queued (the two are
  // not ordered with each other).
  if (setImmediate && queue.length === 0) {
    setImmediate(fn);
    return;
  }
  if (++calls > IMPORT_AFTER_CALLS) {
    loading ??= import("node:timers").then((timers) => setImmediate = timers.setImmediate);
  }
  queue.push(fn);
  if (!asked) ask();
}

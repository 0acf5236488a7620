/**
 * `immediate(fn)`: runs `fn` in a task of its own, after the work that is ready now (other tasks,
 * I/O callbacks), as Node's `setImmediate` does, about 1 µs later when the thread is idle;
 * `setTimeout(fn, 0)` waits for the next timer tick (about 2 ms on Deno 2.9). Callbacks run once
 * each, in call order; those queued while the round runs wait for the next round.
 *
 * On Deno 2.9 the global `setImmediate` is Node's: its first call loads Deno's Node polyfills,
 * 20–40 ms of CPU and several MiB of heap in the thread that makes it. Node's `setImmediate` puts
 * its callbacks on a queue that Deno's core keeps per thread and runs at every turn of the event
 * loop; this module queues there directly, so no thread ever loads the polyfills for it. (A
 * MessageChannel posting to itself, the other way around them, cost 18–22 µs per idle call: each
 * lone message to an agent paid it twice.) On a Deno without that queue (another version) it
 * falls back to the global, with the same behaviour.
 *
 * @module
 */

/** An entry of core's queue, shaped as the entries Node's `setImmediate` puts there. */
interface Entry {
  _idleNext: Entry | null;
  _idlePrev: Entry | null;
  _destroyed: boolean;
  _onImmediate: () => void;
}

interface CoreImmediates {
  queueImmediate(entry: Entry): void;
  /** Counts an entry that keeps the event loop alive (true) or one that ran (false). */
  immediateRefCount(increase: boolean): void;
}

function coreImmediates(): CoreImmediates | undefined {
  const internal = (Deno as unknown as Record<symbol, { core?: Partial<CoreImmediates> } | undefined>)[
    (Deno as unknown as { internal: symbol }).internal
  ];
  const core = internal?.core;
  return typeof core?.queueImmediate === "function" && typeof core.immediateRefCount === "function"
    ? core as CoreImmediates
    : undefined;
}

const core = coreImmediates();

/** Whether `immediate` uses Deno core's queue (true on the Deno this project pins; tested). */
export const CORE_IMMEDIATES = core !== undefined;

export function immediate(fn: () => void): void {
  if (!core) {
    setImmediate(fn);
    return;
  }
  // Counted as a reference, as Node's are: the event loop neither waits in its poll nor ends while
  // the entry is queued.
  core.immediateRefCount(true);
  core.queueImmediate({
    _idleNext: null,
    _idlePrev: null,
    _destroyed: false,
    _onImmediate: () => {
      core.immediateRefCount(false);
      try {
        fn();
      } catch (err) {
        // As a throwing setImmediate callback would: the error is uncaught, the round goes on.
        reportError(err);
      }
    },
  });
}

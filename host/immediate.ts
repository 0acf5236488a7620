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
import { coreFunctions } from "../agents/deno_core.ts";

/**
 * An entry of core's queue, shaped as the entries Node's `setImmediate` puts there. Its callback is
 * a method, not a closure per call: the host's bundle keeps names, and a named closure made per
 * call costs each one an Object.defineProperty.
 */
class Entry {
  _idleNext: Entry | null = null;
  _idlePrev: Entry | null = null;
  _destroyed = false;
  readonly #core: CoreImmediates;
  readonly #fn: () => void;

  constructor(core: CoreImmediates, fn: () => void) {
    this.#core = core;
    this.#fn = fn;
  }

  _onImmediate(): void {
    this.#core.immediateRefCount(false);
    try {
      this.#fn();
    } catch (err) {
      // As a throwing setImmediate callback would: the error is uncaught, the round goes on.
      reportError(err);
    }
  }
}

interface CoreImmediates {
  queueImmediate(entry: Entry): void;
  /** Counts an entry that keeps the event loop alive (true) or one that ran (false). */
  immediateRefCount(increase: boolean): void;
}

const core = coreFunctions<CoreImmediates>("queueImmediate", "immediateRefCount");

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
  core.queueImmediate(new Entry(core, fn));
}

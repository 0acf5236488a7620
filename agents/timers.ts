/**
 * Timers that cost nothing to start: `later`, `every`, `cancel`, `sleep` and `orAfter`.
 *
 * On Deno 2.9 the global `setTimeout` and `setInterval` are Node's (`node:timers`), installed lazily:
 * the first call in a thread loads about 22 modules of Deno's Node polyfills, 25–40 ms of CPU in
 * that thread. A host pays it on its main thread while it starts, and every agent worker pays it
 * again for its first paglet that waits. Both wrap one timer list that Deno's core keeps per thread;
 * this module schedules on that list directly (about 0.3 ms for the first timer), with the globals'
 * ordering, ref counting and clamping. On a Deno without that list (another version) it falls back
 * to the globals, with the same behaviour.
 *
 * @example
 * ```ts
 * const poll = every(1000, () => void refresh());
 * await sleep(50);
 * cancel(poll);
 * ```
 *
 * @module
 */
import { coreFunctions } from "./deno_core.ts";

/** A scheduled call; pass it to {@link cancel}. */
export type Timer = { readonly __timer: unique symbol };

export interface TimerOptions {
  /**
   * Whether the timer keeps the thread's event loop alive, as a global timer does (default). A
   * housekeeping timer of a server passes `false` (what `Deno.unrefTimer` does for a global one).
   */
  ref?: boolean;
}

interface CoreTimers {
  createTimer(fn: () => void, ms: number, args: undefined, repeat: boolean, ref: boolean): object;
  cancelTimer(timer: object): void;
}

const core = coreFunctions<CoreTimers>("createTimer", "cancelTimer");

/** Whether timers use Deno's core list (true on the Deno this project pins; tested). */
export const CORE_TIMERS = core !== undefined;

/** The longest delay a timer takes (2^31 − 1 ms, about 24.8 days): longer ones fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * The delay a timer of `ms` is scheduled with: at most {@link MAX_DELAY_MS} (it fires early, so a
 * caller waiting that long checks its own deadline when it fires), at least what the list makes of
 * 0; a delay that is no number fires as soon as it can.
 */
export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  return Math.min(ms, MAX_DELAY_MS);
}

function schedule(ms: number, fn: () => void, repeat: boolean, ref: boolean): Timer {
  ms = timerDelay(ms);
  if (core) return core.createTimer(fn, ms, undefined, repeat, ref) as unknown as Timer;
  const id = repeat ? setInterval(fn, ms) : setTimeout(fn, ms);
  if (!ref) Deno.unrefTimer(id as unknown as number);
  return id as unknown as Timer;
}

/** Calls `fn` once, `ms` milliseconds from now (at least 1). */
export function later(ms: number, fn: () => void, options: TimerOptions = {}): Timer {
  return schedule(ms, fn, false, options.ref ?? true);
}

/** Calls `fn` every `ms` milliseconds (at least 1) until cancelled. */
export function every(ms: number, fn: () => void, options: TimerOptions = {}): Timer {
  return schedule(ms, fn, true, options.ref ?? true);
}

/** Stops a timer (one that fired, was cancelled, or is undefined: nothing happens). */
export function cancel(timer: Timer | undefined): void {
  if (timer === undefined) return;
  if (core) core.cancelTimer(timer as unknown as object);
  else clearTimeout(timer as unknown as number);
}

/**
 * Settles as `work` does, or resolves with `value` once `ms` milliseconds have passed first; the
 * timer goes as soon as `work` settles.
 */
export function orAfter<T, U>(work: Promise<T>, ms: number, value: U): Promise<T | U> {
  let timer: Timer | undefined;
  return Promise.race([work, new Promise<U>((resolve) => timer = later(ms, () => resolve(value)))])
    .finally(() => cancel(timer));
}

/** Resolves after `ms` milliseconds; the wait keeps the event loop alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => later(ms, resolve));
}

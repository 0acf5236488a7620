/**
 * A deadline on silence rather than on total time: the signal aborts once nothing has moved for
 * `limitMs`. A transfer that keeps moving, however slowly, is never cut off by it.
 *
 * Movement is what the caller reports ({@link StallWatch.progress}) and, when it passes a `probe`,
 * what the other side says: once the caller has reported nothing for a quarter of the limit, the
 * probe is asked (one question at a time) for a count that grows while the other side moves, such
 * as the bytes a target has written. A sender alone cannot tell: a server may read far ahead of
 * what its handler has taken (Deno 2.9 does, see docs/mobility.md).
 *
 * Only time the process runs counts as silence: a check that comes more than a whole check late
 * (the process or its machine was suspended, by SIGSTOP, Ctrl-Z or a laptop's sleep, or its event
 * loop was blocked) restarts the count from then, so a transfer resumed with a sound link is not
 * given up at once.
 *
 * @example
 * ```ts
 * const watch = new StallWatch(30_000);
 * try {
 *   const res = await fetch("http://127.0.0.1:8765/v1/health", { signal: watch.signal });
 *   watch.progress(); // the answer's head came: the body gets the whole limit again
 *   console.log(await res.text());
 * } finally {
 *   watch.stop();
 * }
 * ```
 */
import { cancel, every, type Timer } from "../agents/timers.ts";
import { concat } from "../agents/bytes.ts";
import { PagletError } from "../agents/errors.ts";

/** Asks the other side how far it got: a count that grows while it moves, or null when it cannot say. */
export type StallProbe = (signal: AbortSignal) => Promise<number | null>;

export class StallWatch {
  readonly #limitMs: number;
  readonly #tickMs: number;
  readonly #probe: StallProbe | undefined;
  readonly #controller = new AbortController();
  /** Ends a probe under way when the watch stops. */
  readonly #ended = new AbortController();
  readonly #timer: Timer;
  #last = performance.now();
  /** When the previous check ran (or the watch started). */
  #lastTick = this.#last;
  #probing = false;
  /** The highest count the probe has answered. */
  #seen = 0;

  constructor(limitMs: number, probe?: StallProbe) {
    this.#limitMs = limitMs;
    this.#tickMs = Math.max(1, Math.floor(limitMs / 4));
    this.#probe = probe;
    this.#timer = every(this.#tickMs, () => this.#tick());
  }

  /** Aborts (as a `TimeoutError`) once nothing has moved for the limit. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the limit passed without progress. */
  get stalled(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Something moved: the limit counts from now. Cheap enough to call for every chunk. */
  readonly progress = (): void => {
    this.#last = performance.now();
  };

  /** Ends the watch: the signal no longer aborts, a probe under way is ended. */
  stop(): void {
    cancel(this.#timer);
    this.#ended.abort();
  }

  #tick(): void {
    const now = performance.now();
    const late = now - this.#lastTick > 2 * this.#tickMs;
    this.#lastTick = now;
    // The process did not run meanwhile: the other side cannot be told to have been silent.
    if (late) this.#last = now;
    const idle = now - this.#last;
    if (idle >= this.#limitMs) {
      this.stop();
      this.#controller.abort(new DOMException(`Nothing moved for ${this.#limitMs} ms`, "TimeoutError"));
      return;
    }
    if (!this.#probe || this.#probing || idle < this.#tickMs) return;
    this.#probing = true;
    this.#probe(AbortSignal.any([this.#ended.signal, AbortSignal.timeout(this.#limitMs)])).then(
      (count) => {
        if (count === null || count <= this.#seen) return;
        this.#seen = count;
        this.progress();
      },
      () => {/* no answer: no progress */},
    ).finally(() => this.#probing = false);
  }
}

/**
 * The body of `res` for as long as it keeps arriving: given up (`timeout`, naming `what`) once
 * nothing came for `limitMs`, however long the whole takes. `abort` must be the controller whose
 * signal the request was made with, so that giving up also ends the read under way.
 */
export async function readWhileArriving(
  res: Response,
  limitMs: number,
  abort: AbortController,
  what: string,
): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array();
  const watch = new StallWatch(limitMs);
  const stalled = () => abort.abort(watch.signal.reason);
  watch.signal.addEventListener("abort", stalled);
  const parts: Uint8Array[] = [];
  try {
    for await (const part of res.body) {
      parts.push(part);
      watch.progress();
    }
  } catch (err) {
    if (!watch.stalled) throw err;
    throw new PagletError("timeout", `${what} stopped arriving: nothing came for ${limitMs / 1000} s`);
  } finally {
    watch.stop();
    watch.signal.removeEventListener("abort", stalled);
  }
  return parts.length === 1 ? parts[0] : concat(parts);
}

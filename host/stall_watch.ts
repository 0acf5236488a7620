/**
 * A deadline on silence rather than on total time: the signal aborts once nothing has moved for
 * `limitMs`. A transfer that keeps moving, however slowly, is never cut off by it.
 *
 * Movement is what the caller reports ({@link StallWatch.progress}) and, when it passes a `probe`,
 * what the other side says: once the caller has reported nothing for a while (`probeAfterMs`), the
 * probe is asked (one question at a time) for a count that grows while the other side moves, such
 * as the bytes a target has written. A sender alone cannot tell: a server may read far ahead of
 * what its handler has taken (Deno 2.9 does, see docs/mobility.md).
 *
 * With `answerLimitMs`, the probe also tells a side that has stopped from a slow one: a side that
 * answers none of the probes asked over that long (its process suspended, its event loop stuck, a
 * server that accepts connections and reads nothing) is given up then, without waiting for the
 * limit, which is kept for a side that answers but does not move.
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

/**
 * Asks the other side how far it got: a count that grows while it moves, or null when it answered
 * without saying; rejects when it did not answer.
 */
export type StallProbe = (signal: AbortSignal) => Promise<number | null>;

/** Options of {@link StallWatch}. */
export interface StallWatchOptions {
  /** Asks the other side how far it got while the caller reports nothing. */
  probe?: StallProbe;
  /** How long the caller reports nothing before the probe is asked (then again at every check). @default limitMs / 4 */
  probeAfterMs?: number;
  /**
   * How long the other side may leave the probe unanswered (each question, and the ones after it,
   * while nothing moves) before the watch ends ({@link StallWatch.unanswered}). @default none: only
   * the limit ends the watch
   */
  answerLimitMs?: number;
}

export class StallWatch {
  readonly #limitMs: number;
  readonly #tickMs: number;
  readonly #probe: StallProbe | undefined;
  readonly #probeAfterMs: number;
  readonly #answerLimitMs: number | undefined;
  readonly #controller = new AbortController();
  /** Ends a probe under way when the watch stops. */
  readonly #ended = new AbortController();
  readonly #timer: Timer;
  #last = performance.now();
  /** When the previous check ran (or the watch started). */
  #lastTick = this.#last;
  #probing = false;
  /** When the first question the other side has not answered was asked, since it last answered or moved. */
  #askedAt: number | null = null;
  #unanswered = false;
  /** The highest count the probe has answered. */
  #seen = 0;

  constructor(limitMs: number, options: StallWatchOptions = {}) {
    const { probe, probeAfterMs = limitMs / 4, answerLimitMs } = options;
    for (const [name, value] of Object.entries({ limitMs, probeAfterMs, answerLimitMs })) {
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
        throw new RangeError(
          `Cannot watch for stalls as '${name}' must be a positive number: current value is ${value}`,
        );
      }
    }
    this.#limitMs = limitMs;
    this.#probe = probe;
    this.#probeAfterMs = probeAfterMs;
    this.#answerLimitMs = probe ? answerLimitMs : undefined;
    // Checks often enough to ask the probe on time and to meet each limit within a quarter of it.
    const checkMs = Math.min(
      limitMs / 4,
      probe ? probeAfterMs : Infinity,
      (this.#answerLimitMs ?? Infinity) / 4,
    );
    this.#tickMs = Math.max(1, Math.floor(checkMs));
    this.#timer = every(this.#tickMs, () => this.#tick());
  }

  /** Aborts (as a `TimeoutError`) once nothing has moved for the limit, or the other side stopped answering. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the watch gave up: nothing moved for the limit, or the probe went unanswered. */
  get stalled(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Whether the watch gave up because the other side answered no probe for `answerLimitMs`. */
  get unanswered(): boolean {
    return this.#unanswered;
  }

  /** Something moved: the limit counts from now. Cheap enough to call for every chunk. */
  readonly progress = (): void => {
    this.#last = performance.now();
    this.#askedAt = null;
  };

  /** Ends the watch: the signal no longer aborts, a probe under way is ended. */
  stop(): void {
    cancel(this.#timer);
    this.#ended.abort();
  }

  #giveUp(why: string): void {
    this.stop();
    this.#controller.abort(new DOMException(why, "TimeoutError"));
  }

  #tick(): void {
    const now = performance.now();
    const late = now - this.#lastTick > 2 * this.#tickMs;
    this.#lastTick = now;
    // The process did not run meanwhile: the other side cannot be told to have been silent.
    if (late) {
      this.#last = now;
      if (this.#askedAt !== null) this.#askedAt = now;
    }
    const idle = now - this.#last;
    if (idle >= this.#limitMs) return this.#giveUp(`Nothing moved for ${this.#limitMs} ms`);
    if (
      this.#answerLimitMs !== undefined && this.#askedAt !== null &&
      now - this.#askedAt >= this.#answerLimitMs
    ) {
      this.#unanswered = true;
      return this.#giveUp(`No answer for ${this.#answerLimitMs} ms`);
    }
    if (!this.#probe || this.#probing || idle < this.#probeAfterMs) return;
    this.#probing = true;
    this.#askedAt ??= now;
    const timeoutMs = this.#answerLimitMs ?? this.#limitMs;
    this.#probe(AbortSignal.any([this.#ended.signal, AbortSignal.timeout(timeoutMs)])).then(
      (count) => {
        this.#askedAt = null;
        if (count === null || count <= this.#seen) return;
        this.#seen = count;
        this.progress();
      },
      () => {/* no answer: no progress, and the question stays unanswered */},
    ).finally(() => this.#probing = false);
  }
}

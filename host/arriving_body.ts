/**
 * A body read under a stall limit, given up once it stops arriving: the one way the host reads a
 * stream that may stop (a request body it streams: an artifact upload, an arriving transfer, a
 * large message; a forwarded message's answer; a file a paglet uploads). A client that declared a
 * body, sent part of it and went quiet would otherwise hold what the reader keeps for it (a
 * reservation, a spool file, a connection) for as long as its connection lives.
 *
 * Only the time a read waits for the body counts as silence, each read from its start: what the
 * reader does between reads (writing a chunk to disk, checking an envelope, fetching code) is not
 * the sender's silence. The waits are measured by a {@link StallWatch}, so a host process that was
 * suspended does not take its own pause for the sender's.
 *
 * @example
 * ```ts
 * const body = arrivingBody(request.body!, { limitMs: 60_000, what: "Upload" });
 * for await (const chunk of body) console.log(chunk.length); // fails with `timeout` on a stall
 * ```
 *
 * A reader that learns the body is no longer wanted unless it still moves (a newer attempt of the
 * same transfer arrived) shortens the limit with {@link ArrivingBodyOptions.sooner}.
 *
 * @module
 */
import { PagletError } from "../agents/errors.ts";
import { StallWatch } from "./stall_watch.ts";

/** Options of {@link arrivingBody}. */
export interface ArrivingBodyOptions {
  /** How long a read may wait for the next bytes of the body. */
  limitMs: number;
  /** What the body is, as the error names it ("Upload"). */
  what: string;
  /** Called once when the body is given up, before the read fails. @default nothing */
  onStalled?: () => void;
  /**
   * A shorter limit that holds once `signal` aborts: from then, a read is given up once it has
   * waited `limitMs` (a read waiting at the abort counts its wait so far: one that has waited that
   * long already is given up at once), and the error adds the signal's reason (a string) to say
   * why. @default none
   */
  sooner?: { signal: AbortSignal; limitMs: number };
}

/**
 * `body` as it arrives: a read that waits `limitMs` for the next chunk cancels `body` and fails
 * with `timeout` ("`what` stopped arriving: nothing came for `limitMs / 1000` s"); so does every
 * read after it. The end of `body`, its failures and a cancel pass through.
 */
export function arrivingBody(
  body: ReadableStream<Uint8Array>,
  options: ArrivingBodyOptions,
): ReadableStream<Uint8Array> {
  const { what, onStalled, sooner } = options;
  for (const [name, value] of [["limitMs", options.limitMs], ["sooner.limitMs", sooner?.limitMs]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new RangeError(
        `Cannot watch a body as '${name}' must be a positive number: current value is ${value}`,
      );
    }
  }
  // Taken at the first read: a body never read is left as it came (the server drains or refuses it).
  let source: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** The limit in force: `options.limitMs`, or `sooner.limitMs` once its signal aborted. */
  let limitMs = options.limitMs;
  /** Why the limit was shortened (the `sooner` signal's reason). */
  let why: string | undefined;
  /** When the read waiting now began; null while no read waits (the reader is busy, or done). */
  let waitingSince: number | null = null;
  /** Why the body was given up, once it was: every read fails with it from then. */
  let gaveUp: PagletError | null = null;
  const giveUp = () => {
    if (gaveUp) return;
    const reason = why === undefined ? "" : `; ${why}`;
    gaveUp = new PagletError(
      "timeout",
      `${what} stopped arriving: nothing came for ${limitMs / 1000} s${reason}`,
    );
    watch?.stop();
    onStalled?.();
    void source?.cancel().catch(() => {});
  };
  /**
   * The watch of the reads, one for many: each read restarts its count. One that runs out while no
   * read waits (the reader is busy, or has stopped reading) is no stall: it ends, and the next read
   * starts another. So a reader that leaves the body unread keeps no timer for longer than that.
   */
  let watch: StallWatch | undefined;
  /** The watch has the rest of a read's time, not the limit: the next read starts one of the limit. */
  let partial = false;
  const startWatch = (ms: number) => {
    partial = ms !== limitMs;
    const next = watch = new StallWatch(ms);
    next.signal.addEventListener("abort", () => {
      if (waitingSince !== null && watch === next) giveUp();
    }, { once: true });
  };
  sooner?.signal.addEventListener("abort", () => {
    if (gaveUp) return;
    limitMs = sooner.limitMs;
    why = String(sooner.signal.reason);
    watch?.stop();
    watch = undefined;
    // No read waits: the next one starts a watch of the shorter limit.
    if (waitingSince === null) return;
    const left = limitMs - (performance.now() - waitingSince);
    if (left <= 0) giveUp();
    else startWatch(left);
  }, { once: true });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (gaveUp) return controller.error(gaveUp);
      source ??= body.getReader();
      if (watch && !watch.stalled && !partial) watch.progress();
      else {
        watch?.stop();
        startWatch(limitMs);
      }
      let result: ReadableStreamReadResult<Uint8Array>;
      waitingSince = performance.now();
      try {
        result = await source.read();
      } catch (err) {
        watch?.stop();
        controller.error(gaveUp ?? err);
        return;
      } finally {
        waitingSince = null;
      }
      // Given up while this read waited, the read was cancelled and ends as if the body were
      // complete: it is not.
      if (gaveUp) controller.error(gaveUp);
      else if (result.done) {
        watch?.stop();
        controller.close();
      } else controller.enqueue(result.value);
    },
    cancel(reason) {
      watch?.stop();
      return source ? source.cancel(reason) : body.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

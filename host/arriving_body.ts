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
}

/**
 * `body` as it arrives: a read that waits `limitMs` for the next chunk cancels `body` and fails
 * with `timeout` ("`what` stopped arriving: nothing came for `limitMs / 1000` s"); so does every
 * read after it. The end of `body`, its
 * failures and a cancel pass through.
 */
export function arrivingBody(
  body: ReadableStream<Uint8Array>,
  options: ArrivingBodyOptions,
): ReadableStream<Uint8Array> {
  const { limitMs, what, onStalled } = options;
  if (!(Number.isFinite(limitMs) && limitMs > 0)) {
    throw new RangeError(
      `Cannot watch a body as 'limitMs' must be a positive number: current value is ${limitMs}`,
    );
  }
  // Taken at the first read: a body never read is left as it came (the server drains or refuses it).
  let source: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** A read is waiting for the body now. */
  let waiting = false;
  /**
   * The watch of the reads, one for many: each read restarts its count. One that runs out while no
   * read waits (the reader is busy, or has stopped reading) is no stall: it ends, and the next read
   * starts another. So a reader that leaves the body unread keeps no timer for longer than that.
   */
  let watch: StallWatch | undefined;
  const watchRead = (reader: ReadableStreamDefaultReader<Uint8Array>): StallWatch => {
    if (watch && !watch.stalled) {
      watch.progress();
      return watch;
    }
    const next = watch = new StallWatch(limitMs);
    next.signal.addEventListener("abort", () => {
      if (!waiting) return;
      onStalled?.();
      void reader.cancel().catch(() => {});
    }, { once: true });
    return next;
  };
  const stalled = () =>
    new PagletError("timeout", `${what} stopped arriving: nothing came for ${limitMs / 1000} s`);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      source ??= body.getReader();
      const read = watchRead(source);
      let result: ReadableStreamReadResult<Uint8Array>;
      waiting = true;
      try {
        result = await source.read();
      } catch (err) {
        read.stop();
        controller.error(read.stalled ? stalled() : err);
        return;
      } finally {
        waiting = false;
      }
      // The watch can only have run out while this read waited. Cancelled by it, the read ends as
      // if the body were complete: it is not.
      if (read.stalled) controller.error(stalled());
      else if (result.done) {
        read.stop();
        controller.close();
      } else controller.enqueue(result.value);
    },
    cancel(reason) {
      watch?.stop();
      return source ? source.cancel(reason) : body.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * A small reader of Server-Sent Events (`text/event-stream`) for clients such as `paglets follow`.
 *
 * @module
 */
import { cancel, later, type Timer } from "../../agents/timers.ts";

/** One dispatched event. */
export interface ServerSentEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * Yields the events of an SSE body as they complete; comments (`: keepalive`) are skipped.
 *
 * @example
 * ```ts
 * const res = await fetch(`${url}/v1/events/stream?kind=user-notify`);
 * for await (const e of readServerSentEvents(res.body!)) console.log(e.event, JSON.parse(e.data));
 * ```
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  let buffer = "";
  let id: string | undefined;
  let event = "";
  let data: string[] = [];
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (data.length) yield { id, event: event || "message", data: data.join("\n") };
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
  }
}

/** The error of a stream that stayed silent past its limit (see {@link endWhenSilent}). */
export class SilentStreamError extends Error {}

/**
 * `body`, failing with {@link SilentStreamError} once no byte arrived for `ms`: a stream whose host
 * vanished without closing the connection (a machine off, a cut cable) never ends by itself. The
 * host sends keepalives while it has nothing to say, so silence means the stream is lost. The
 * source is cancelled then, which closes its connection.
 */
export function endWhenSilent(body: ReadableStream<Uint8Array>, ms: number): ReadableStream<Uint8Array> {
  let timer: Timer | undefined;
  let watch!: TransformStreamDefaultController<Uint8Array>;
  // Unref'd: the watch never keeps a process alive by itself (reading the body does).
  const arm = () => {
    cancel(timer);
    timer = later(ms, () => watch.error(new SilentStreamError(`No byte for ${ms} ms`)), { ref: false });
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        watch = controller;
        arm();
      },
      transform(chunk, controller) {
        arm();
        controller.enqueue(chunk);
      },
      flush: () => cancel(timer),
      cancel: () => cancel(timer),
    }),
  );
}

/**
 * A small reader of Server-Sent Events (`text/event-stream`) for clients such as `paglets follow`.
 *
 * @module
 */

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

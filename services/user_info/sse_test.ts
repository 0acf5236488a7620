import { assertEquals } from "../../tests/helpers/assert.ts";
import { readServerSentEvents, type ServerSentEvent } from "./sse.ts";

function bodyOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(encoder.encode(chunk));
      c.close();
    },
  });
}

Deno.test("events split across chunks are reassembled; comments are skipped", async () => {
  const events: ServerSentEvent[] = [];
  for await (
    const e of readServerSentEvents(
      bodyOf("id: 4\nevent: user-no", 'tify\ndata: {"a":1}\n\n: keepalive\n\n', "data: x\ndata: y\n\n"),
    )
  ) {
    events.push(e);
  }
  assertEquals(events, [
    { id: "4", event: "user-notify", data: '{"a":1}' },
    { id: "4", event: "message", data: "x\ny" },
  ]);
});

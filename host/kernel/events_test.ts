import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { eventBytes, EventLog } from "./events.ts";

/** `text` nested `depth` objects deep. */
function nested(text: string, depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { text };
  for (let i = 0; i < depth; i++) value = { inner: value };
  return value;
}

Deno.test("an event's size counts what it holds however deep it is nested", () => {
  const big = "x".repeat(1024 * 1024);
  for (const depth of [0, 10, 33, 100]) {
    const size = eventBytes({ id: 1, kind: "user-notify", at: 0, data: nested(big, depth) });
    assert(size >= big.length, `depth ${depth}: ${size} bytes counted`);
  }
});

Deno.test("the event ring keeps within its bytes however deep the events nest", () => {
  const log = new EventLog({ maxBytes: 4 * 1024 * 1024 });
  for (let i = 0; i < 20; i++) log.emit("user-notify", { data: nested("y".repeat(1024 * 1024), 40) });
  assert(log.bytes <= 4 * 1024 * 1024 + 2 * 1024 * 1024, `${log.bytes} bytes kept`);
  assertEquals(log.since(0, 1000).at(-1)!.id, 20, "the newest is kept");
});

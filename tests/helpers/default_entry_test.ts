/** The default entry's probe connects: it tells a port with a listener from one without, binding neither. */
import { assertEquals } from "./assert.ts";
import { listening } from "./default_entry.ts";
import { freePort } from "./free_port.ts";

Deno.test("listening tells a port something listens on from a free one, and leaves both as they were", async () => {
  const port = freePort();
  assertEquals(await listening(port), false);
  // Still free: the probe did not take it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    assertEquals(await listening(port), true);
  } finally {
    listener.close();
  }
  assertEquals(await listening(port), false);
});

/**
 * A peer that refuses this host's gossip (422: its record is past the peer's limits, say) keeps the
 * host from joining through it: said once, on stderr and as a `mesh-gossip-refused` event.
 */
import { assertEquals } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { eventData, fakePeer, FAST_MESH, moreRounds, warnings } from "./helpers.ts";

Deno.test("a peer that refuses this host's gossip with 422 is said once, on stderr and as an event", async () => {
  await using refusing = fakePeer(() =>
    Response.json({
      error: { code: "invalid_request", message: "Invalid gossip request: records.0.tags: too many" },
    }, { status: 422 })
  );
  try {
    const host = await startHost({ name: "refused", args: [...FAST_MESH, "--peer", refusing.url] });
    await eventually("the refusal to be said", () => warnings(host, refusing.url).length > 0);
    // Refused at rounds 1, 2, 4 and 8 (the seed's backoff): said after the first only.
    await eventually("the seed to be tried 4 times", () => refusing.requests() >= 4, 15_000);
    await moreRounds(host, 2);
    assertEquals(warnings(host, refusing.url), [
      `warning: ${refusing.url} refuses this host's gossip (Invalid gossip request: records.0.tags: too many): ` +
      "this host reaches the mesh only through others",
    ]);
    assertEquals((await eventData(host, "mesh-gossip-refused")).map((d) => d.url), [refusing.url]);
  } finally {
    await stopAll();
  }
});

/**
 * A dispatch whose connection is never made (the target went away after a preflight this host
 * still trusts) cannot have arrived anywhere: the paglet is back on its source at once, with
 * `transfer_failed`, not held `moving` until the target answers again.
 */
import { assertEquals } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import type { PagletError } from "../../agents/errors.ts";
import { agentIds, startMobileHost } from "./helpers.ts";

Deno.test("a dispatch to a target gone after a cached preflight restores the paglet at once", async () => {
  try {
    const a = await startMobileHost("alpha");
    const b = await startMobileHost("beta");
    const first = await a.client.createAgent({ type: "test.traveller" });
    const second = await a.client.createAgent({ type: "test.traveller" });
    await a.client.send(second.id, { kind: "set", args: { count: 4 } });
    // The first move leaves alpha trusting beta's yes for this type (preflightTtlMs, 10 s).
    await a.client.dispatch(first.id, b.url);
    assertEquals(await agentIds(b), [first.id]);
    await b.kill();

    const err = await a.client.dispatch(second.id, b.url).then(() => null, (e: PagletError) => e);
    assertEquals(err?.code, "transfer_failed", err?.message);
    const record = await a.client.getAgent(second.id) as { status: string };
    assertEquals(record.status, "active");
    const state = await a.client.send(second.id, { kind: "get" }) as { count: number };
    assertEquals(state.count, 4);
  } finally {
    await stopAll();
  }
});

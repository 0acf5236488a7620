/**
 * A checkpoint that snapshots an agent while it deactivates never writes its older state over the
 * state the deactivation stored (onDeactivating's changes included).
 */
import { assertEquals } from "../helpers/assert.ts";
import { testHost } from "../helpers/in_process.ts";
import { decodeCbor } from "../../agents/cbor.ts";
import { toMessage } from "../../agents/message.ts";

const AGENTS = 150;
const ROUNDS = 3;

Deno.test("checkpoints running beside deactivations never overwrite a deactivated agent's stored state", async () => {
  await using h = await testHost();
  const { runtime, store } = h.host;
  const ids: string[] = [];
  for (let i = 0; i < AGENTS; i++) ids.push((await runtime.create({ type: "demo.counter" })).id);
  for (let round = 0; round < ROUNDS; round++) {
    // Every agent changed (so every checkpoint snapshots it), then checkpoints and deactivations race.
    await Promise.all(ids.map((id) => runtime.deliver(id, toMessage({ kind: "increment" }))));
    const checkpoints = Array.from({ length: 4 }, () => runtime.checkpoint(true));
    await Promise.all([...checkpoints, ...ids.map((id) => runtime.deactivate(id))]);
    for (const id of ids) {
      const record = (await store.get(id))!;
      assertEquals(record.status, "inactive");
      const state = decodeCbor<{ count: number; events: string[] }>(record.state);
      assertEquals(state.events.at(-1), "deactivating:test", `${id} round ${round}: ${state.events.join()}`);
      assertEquals(state.count, round + 1);
    }
    await Promise.all(ids.map((id) => runtime.activate(id)));
  }
});

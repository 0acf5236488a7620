/**
 * A checkpoint never writes over a fresher record: a snapshot taken before an agent deactivated
 * and committed after the deactivation must not replace the state the deactivation stored. The
 * first test runs a checkpoint beside a deactivation; the second forces the order (snapshot,
 * deactivation, then the snapshot's commit) at the store.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { decodeCbor } from "../../agents/cbor.ts";
import { AgentRuntime } from "../../host/kernel/agent_runtime.ts";

Deno.test("a checkpoint that waited for a busy worker does not overwrite a deactivated state", async () => {
  await using h = await testHost({ workers: 2 });
  const rt = h.host.runtime;
  // One agent per worker: the counter's snapshot comes back at once, the busy one's only after its burn.
  const { id: counter } = await h.client.createAgent({ type: "demo.counter" });
  const { id: busy } = await h.client.createAgent({ type: "demo.busy" });
  assert(rt.find(counter)!.slot !== rt.find(busy)!.slot, "the two agents share a worker");
  await h.client.send(counter, { kind: "increment", args: { by: 3 } });

  await rt.checkpoint(true); // none runs after this one until the next timer tick
  rt.touch(counter);
  rt.touch(busy);
  const counterSlot = rt.find(counter)!.slot;
  const busySlot = rt.find(busy)!.slot;
  // The burn goes to the busy agent's worker first: the port keeps the order of calls, so that
  // worker answers the checkpoint's snapshot only after the burn.
  const burn = rt.deliver(busy, AgentRuntime.message({ kind: "burn", args: { ms: 700 } }));
  const checkpoint = rt.checkpoint();
  // Each worker: the states it saw change outside handlers, and the snapshot of its touched agent.
  assertEquals([counterSlot.rpc.pending, busySlot.rpc.pending], [2, 3], "the checkpoint asked both workers");
  // The counter's snapshot is back; the checkpoint still waits for the busy one.
  await eventually("the counter's snapshot", () => counterSlot.rpc.pending === 0);
  await h.client.deactivate(counter, {});
  await checkpoint;
  await burn;
  await rt.checkpoint(true);

  const record = await h.host.store.get(counter);
  assertEquals(record?.status, "inactive");
  const state = decodeCbor<{ count: number; events: string[] }>(record!.state);
  assertEquals(state.count, 3);
  assert(
    state.events.some((e) => e.startsWith("deactivating")),
    `the stored state lost onDeactivating's change: ${JSON.stringify(state.events)}`,
  );
});

Deno.test("a snapshot taken before a deactivation and committed after it leaves the deactivated record as it is", async () => {
  // The ordering the test above cannot force (the checkpoint commits a snapshot as soon as it
  // arrives), made here by hand at the seam the checkpoint writes through: the group commit's
  // transaction (state_commits.ts → AgentStore.transaction → saveState).
  await using h = await testHost({ workers: 1 });
  const rt = h.host.runtime;
  const { id } = await h.client.createAgent({ type: "demo.counter" });
  await h.client.send(id, { kind: "increment", args: { by: 3 } });
  const stale = await rt.snapshot(rt.find(id)!);
  await h.client.deactivate(id, {});
  const deactivated = await h.host.store.get(id);
  assertEquals(deactivated?.status, "inactive");

  await h.host.store.transaction((tx) => tx.saveState(id, stale));

  const record = await h.host.store.get(id);
  assertEquals(record?.status, "inactive");
  assertEquals(record!.state, deactivated!.state, "the stale snapshot overwrote the deactivated state");
  const state = decodeCbor<{ count: number; events: string[] }>(record!.state);
  assertEquals(state.count, 3);
  assert(state.events.some((e) => e.startsWith("deactivating")), JSON.stringify(state.events));
});

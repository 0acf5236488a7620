/**
 * An error no handler catches in paglet code (a timer callback that throws, a promise nobody
 * awaits) is recorded as a `worker-error` event; the worker, its paglets and the host run on.
 * An error that escapes the worker itself ends only that worker: a new one takes its slot, and
 * its paglets come back from their stored state.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { eventsOf, KERNEL_FIXTURES } from "./helpers.ts";
import type { PagletError } from "../../agents/errors.ts";

Deno.test("an error thrown from a paglet's timer or an unawaited rejection is recorded, and all runs on", async () => {
  // One worker: the paglet beside the thrower lives in the same one.
  await using h = await testHost({ modules: [KERNEL_FIXTURES], workers: 1 });
  const thrower = await h.client.createAgent({ type: "kernel.thrower" });
  const beside = await h.client.createAgent({ type: "kernel.spoiler" });
  // One after the other: the timer's error may otherwise come second.
  assertEquals(await h.client.send(thrower.id, { kind: "throw-later" }), { ok: true });
  await eventually(
    "the timer's error recorded",
    async () => (await eventsOf(h.client, "worker-error")).length === 1,
  );
  assertEquals(await h.client.send(thrower.id, { kind: "reject" }), { ok: true });
  const errors = await eventually("both errors recorded", async () => {
    const events = await eventsOf(h.client, "worker-error");
    return events.length === 2 && events;
  });
  const texts = errors.map((e) => String(e.data.error));
  assert(texts[0].includes("thrown from a timer"), texts[0]);
  assert(texts[1].includes("rejected and never awaited"), texts[1]);
  assertEquals(errors[0].data.worker, "paglets-agent-worker-0");
  // The worker was not replaced: both paglets answer from where they were.
  assertEquals(await h.client.send(thrower.id, { kind: "bump" }), { n: 1 });
  assertEquals(await h.client.send(beside.id, { kind: "bump" }), { n: 1 });
  assertEquals(await eventsOf(h.client, "worker-replaced"), []);
});

Deno.test("an error that escapes a worker ends only that worker; its paglets come back in a new one", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES], workers: 1 });
  const thrower = await h.client.createAgent({ type: "kernel.thrower" });
  const beside = await h.client.createAgent({ type: "kernel.spoiler" });
  assertEquals(await h.client.send(thrower.id, { kind: "bump" }), { n: 1 });
  assertEquals(await h.client.send(beside.id, { kind: "bump" }), { n: 1 });
  assertEquals(await h.client.send(thrower.id, { kind: "end-worker" }), { ok: true });
  const [replaced] = await eventually("the worker replaced", async () => {
    const events = await eventsOf(h.client, "worker-replaced");
    return events.length === 1 && events;
  });
  assertEquals(replaced.data.agents, 2);
  assert(String(replaced.data.error).includes("thrown by an error listener"), JSON.stringify(replaced));
  await eventually("both paglets restored", async () => {
    return (await eventsOf(h.client, "restore")).length === 2;
  });
  // Each from its stored state, in the new worker.
  assertEquals(await h.client.send(thrower.id, { kind: "bump" }), { n: 2 });
  assertEquals(await h.client.send(beside.id, { kind: "bump" }), { n: 2 });
  assertEquals(h.host.pool.abandoned, 0, "a worker that ended is no thread left running");
});

Deno.test("a paglet cannot end the worker it shares: Deno.exit() and close() fail its handler", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES], workers: 1 });
  const thrower = await h.client.createAgent({ type: "kernel.thrower" });
  const beside = await h.client.createAgent({ type: "kernel.spoiler" });
  for (const kind of ["exit", "close"]) {
    const err = await h.client.send(thrower.id, { kind }).then(() => null, (e: PagletError) => e);
    assertEquals(err?.code, "invalid_request", `${kind}: ${err?.message}`);
    assert(err!.message.includes("would end a worker"), err!.message);
  }
  assertEquals(await h.client.send(thrower.id, { kind: "bump" }), { n: 1 });
  assertEquals(await h.client.send(beside.id, { kind: "bump" }), { n: 1 });
});

Deno.test("a disposal is final: an onDisposing that throws is recorded, and the paglet is gone", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES] });
  const { id } = await h.client.createAgent({ type: "kernel.thrower", state: { refuseDisposal: true } });
  await h.client.dispose(id);
  const err = await h.client.getAgent(id).then(() => null, (e: PagletError) => e);
  assertEquals(err?.code, "agent_not_found");
  const [recorded] = await eventsOf(h.client, "worker-error");
  assert(
    String(recorded?.data.error).includes(`onDisposing of ${id} failed: Error: onDisposing refuses`),
    JSON.stringify(recorded),
  );
});

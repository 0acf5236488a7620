/**
 * A handler that leaves data in its paglet's state that cannot be stored (NaN, a function) fails
 * with `invalid_state`, and the state goes back to the stored one: the paglet keeps answering, and
 * can still be deactivated and disposed. A state spoiled outside any handler never keeps the paglet
 * from being disposed.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { KERNEL_FIXTURES } from "../fixtures/kernel_paglets.ts";
import type { PagletError } from "../../agents/errors.ts";
import { decodeCbor } from "../../agents/cbor.ts";
import { json } from "../../host/http/body.ts";

const failure = (p: Promise<unknown>) => p.then(() => null, (err: PagletError) => err);

Deno.test("a handler that leaves non-plain data fails invalid_state and its changes are undone", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES] });
  const { id } = await h.client.createAgent({ type: "kernel.spoiler" });
  assertEquals(await h.client.send(id, { kind: "bump" }), { n: 1 });
  let n = 1;
  for (const kind of ["nan", "fn"]) {
    const err = await failure(h.client.send(id, { kind }));
    assertEquals(err?.code, "invalid_state", `${kind}: ${err?.message}`);
    // The path and what is there: a function (which the encoder refuses) as much as a NaN.
    assert(
      /not plain data at \$\.x \((non-finite number|function)\).*undone/.test(err!.message),
      err!.message,
    );
    // The paglet answers on, with the state it had before.
    assertEquals(await h.client.send(id, { kind: "get" }), { x: 0, n });
    assertEquals(await h.client.send(id, { kind: "bump" }), { n: ++n });
  }
  await h.client.deactivate(id);
  assertEquals((await h.client.getAgent(id)).status, "inactive");
  assertEquals(await h.client.send(id, { kind: "get" }), { x: 0, n: 3 });
  await h.client.dispose(id);
});

Deno.test("a state spoiled outside any handler does not keep the paglet from being disposed", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES] });
  const { id } = await h.client.createAgent({ type: "kernel.spoiler" });
  assertEquals(await h.client.send(id, { kind: "bump" }), { n: 1 });
  // The timer spoils the state after the handler returned, then says so.
  assertEquals(await h.client.send(id, { kind: "later" }), { ok: true });
  await eventually("the state spoiled", async () => {
    const { events } = await h.client.events(0, 1000);
    return events.some((e) => e.kind === "user-notify" && e.agentId === id);
  });
  await h.client.dispose(id);
  assertEquals(await failure(h.client.getAgent(id)).then((e) => e?.code), "agent_not_found");
});

Deno.test("the state a spoiling handler goes back to includes what a checkpoint stored since", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES] });
  const { id } = await h.client.createAgent({ type: "kernel.spoiler" });
  assertEquals(await h.client.send(id, { kind: "bump" }), { n: 1 });
  // A change outside any handler, stored by a checkpoint.
  assertEquals(await h.client.send(id, { kind: "tick" }), { ok: true });
  await eventually("the checkpoint stored n = 100", async () => {
    const record = await h.host.store.get(id);
    return record && (decodeCbor(record.state) as { n: number }).n === 100;
  });
  const err = await failure(h.client.send(id, { kind: "nan" }));
  assertEquals(err?.code, "invalid_state");
  assertEquals(await h.client.send(id, { kind: "get" }), { x: 0, n: 100 });
});

Deno.test("a failed message leaves no change: a handler that throws, or whose reply cannot be sent, is undone", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES] });
  const { id } = await h.client.createAgent({ type: "kernel.spoiler" });
  assertEquals(await h.client.send(id, { kind: "bump" }), { n: 1 });
  const thrown = await failure(h.client.send(id, { kind: "bump-then-throw" }));
  assertEquals(thrown?.code, "handler_failed", thrown?.message);
  const cycle = await failure(h.client.send(id, { kind: "bump-then-cycle" }));
  assertEquals(cycle?.code, "invalid_state", cycle?.message);
  // Neither change is there, nor stored with the next message's.
  assertEquals(await h.client.send(id, { kind: "bump" }), { n: 2 });
  await h.client.deactivate(id);
  assertEquals(await h.client.send(id, { kind: "get" }), { x: 0, n: 2 });
});

Deno.test("an answer too large for JSON is payload_too_large, saying the request was carried out", () => {
  // What JSON.stringify throws past V8's longest string (a real one takes > 512 MiB to make).
  const tooLong = {
    toJSON: () => {
      throw new RangeError("Invalid string length");
    },
  };
  const err = failureOfSync(() => json({ reply: tooLong }));
  assertEquals(err?.code, "payload_too_large", err?.message);
  assert(err!.message.includes("the request itself was carried out"), err!.message);
});

function failureOfSync(fn: () => unknown): PagletError | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err as PagletError;
  }
}

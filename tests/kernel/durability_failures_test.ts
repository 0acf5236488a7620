/**
 * A checkpoint that SQLite refuses is never silent: it becomes a `durability-failed` event and a
 * /metrics counter, and the agents it did not save are saved by the next checkpoint that works.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { eventually, testHost } from "../helpers/in_process.ts";
import { decodeCbor } from "../../agents/cbor.ts";
import { KERNEL_FIXTURES } from "../fixtures/kernel_paglets.ts";

Deno.test("a failing checkpoint becomes an event and a metric; the next one saves the state", async () => {
  await using h = await testHost({ modules: [KERNEL_FIXTURES] });
  // A type whose changes wait for the checkpoint (a counter's reply would fail with the write).
  const { id } = await h.client.createAgent({ type: "kernel.tally" });
  const raw = h.host.rawDb.raw;
  const metric = async () => {
    const text = await (await fetch(`${h.host.url}/metrics`)).text();
    const line = text.split("\n").find((l) =>
      l.startsWith('paglets_durability_failures_total{kind="checkpoint"}')
    );
    return Number(line?.split(" ")[1]);
  };
  assertEquals(await metric(), 0);

  // SQLite itself refuses every write from now on (a real failure of the store, not a stub).
  raw.exec("PRAGMA query_only = ON");
  try {
    await h.client.send(id, { kind: "add", args: { by: 5 } });
    const failed = await eventually("a durability-failed event", async () => {
      const { events } = await h.client.events(0, 1000);
      return events.find((e) =>
        e.kind === "durability-failed" && (e.data as { kind?: string } | undefined)?.kind === "checkpoint"
      );
    });
    assert(/readonly|read-only|query_only/i.test(String(failed.error)), String(failed.error));
    assert((await metric()) >= 1);
  } finally {
    raw.exec("PRAGMA query_only = OFF");
  }

  await eventually("the state saved by a later checkpoint", async () => {
    const record = await h.host.store.get(id);
    return record && (decodeCbor(record.state) as { total: number }).total === 5;
  });
});

Deno.test("replies that ran ahead of a failed commit fail with it, and the state goes back to the stored one", async () => {
  await using h = await testHost();
  const { id } = await h.client.createAgent({ type: "demo.counter" });
  assertEquals(await h.client.send(id, { kind: "increment", args: { by: 1 } }), { count: 1 });
  const raw = h.host.rawDb.raw;
  raw.exec("PRAGMA query_only = ON");
  let outcomes: PromiseSettledResult<unknown>[];
  try {
    // Sent together: the mailbox hands them to the worker before the first commit is known, so
    // the later handlers run on the changes whose writes then fail.
    outcomes = await Promise.allSettled([
      h.client.send(id, { kind: "increment", args: { by: 10 } }),
      h.client.send(id, { kind: "increment", args: { by: 100 } }),
      h.client.send(id, { kind: "get" }),
      h.client.send(id, { kind: "increment", args: { by: 1000 } }),
    ]);
  } finally {
    raw.exec("PRAGMA query_only = OFF");
  }
  // No reply acknowledged a change that is not on disk, nor showed one.
  for (const outcome of outcomes) {
    if (outcome.status === "fulfilled") assertEquals(outcome.value, { count: 1 });
  }
  assertEquals(outcomes.filter((o) => o.status === "rejected").length >= 3, true);
  assertEquals((decodeCbor((await h.host.store.get(id))!.state) as { count: number }).count, 1);
  // The paglet is back at its stored state and takes changes again.
  assertEquals(await h.client.send(id, { kind: "get" }), { count: 1 });
  assertEquals(await h.client.send(id, { kind: "increment", args: { by: 2 } }), { count: 3 });
});

/**
 * `immediate()` runs every callback once, in call order, after the work ready now: before and
 * after it switches from its MessageChannel to `node:timers` (host/immediate.ts).
 */
import { assertEquals } from "../helpers/assert.ts";
import { immediate, IMPORT_AFTER_CALLS } from "../../host/immediate.ts";

Deno.test("immediate runs each callback once, in order, across the switch to node:timers", async () => {
  for (let batch = 0; batch < 4; batch++) {
    const ran: number[] = [];
    const done = Promise.withResolvers<void>();
    for (let i = 0; i < IMPORT_AFTER_CALLS; i++) {
      immediate(() => {
        ran.push(i);
        if (i === IMPORT_AFTER_CALLS - 1) done.resolve();
      });
    }
    assertEquals(ran, [], "nothing runs within the calls");
    await done.promise;
    assertEquals(ran, [...Array(IMPORT_AFTER_CALLS).keys()]);
    // Time for the import of node:timers to finish: later batches go through it.
    await import("node:timers");
  }
});

Deno.test("callbacks queued by a callback run in a later round, after those queued before them", async () => {
  const ran: string[] = [];
  const done = Promise.withResolvers<void>();
  immediate(() => {
    ran.push("a");
    immediate(() => {
      ran.push("c");
      done.resolve();
    });
  });
  immediate(() => ran.push("b"));
  await done.promise;
  assertEquals(ran, ["a", "b", "c"]);
});

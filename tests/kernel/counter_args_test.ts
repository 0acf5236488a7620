/** demo.counter's `increment` refuses a `by` that is not a finite number, naming what it got. */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { testHost } from "../helpers/in_process.ts";

Deno.test("increment with a bad `by` answers invalid_request quoting it; the counter keeps counting", async () => {
  await using h = await testHost();
  const { id } = await h.client.createAgent({ type: "demo.counter" });
  const cases: [unknown, string][] = [["x", '"x"'], [[1], "[1]"], [{ n: 1 }, '{"n":1}'], [true, "true"]];
  for (const [by, shown] of cases) {
    const err = await assertRejectsCode(
      () => h.client.send(id, { kind: "increment", args: { by } }),
      "invalid_request",
    );
    assert(err.message.includes(`'by' must be a finite number, got ${shown}`), err.message);
  }
  assertEquals(await h.client.send(id, { kind: "increment", args: { by: 2 } }), { count: 2 });
  assertEquals(await h.client.send(id, { kind: "increment" }), { count: 3 });
});

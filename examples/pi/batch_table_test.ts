import { assertEquals } from "../../tests/helpers/assert.ts";
import { BatchTable } from "./batch_table.ts";

const three = () =>
  new BatchTable([{ index: 0, a: 0, b: 10 }, { index: 1, a: 10, b: 20 }, { index: 2, a: 20, b: 30 }]);

Deno.test("batches are taken in order, or from the end; a requeued one comes first", () => {
  const t = three();
  assertEquals(t.take("h", true, true)?.index, 2);
  assertEquals(t.take("h", true)?.index, 0);
  t.requeue(0);
  assertEquals(t.take("h", true)?.index, 0);
  assertEquals(t.get(0).launches, 2);
  assertEquals(t.waiting, 1);
});

Deno.test("a batch that failed on a host goes elsewhere, unless there is no elsewhere", () => {
  const t = three();
  const first = t.take("a", false)!;
  t.requeue(first.index, "a");
  assertEquals(t.take("a", false, true)?.index, 2, "from the end, skipping nothing yet");
  assertEquals(t.take("a", false)?.index, 1, "batch 0 failed on a: the next one");
  assertEquals(t.take("a", false), undefined, "only batch 0 is left, and it failed on a");
  assertEquals(t.take("b", false)?.index, 0);
  t.requeue(0, "b");
  assertEquals(t.take("b", true, true)?.index, 0, "a single host takes it anyway");
  assertEquals([t.get(0).failures, [...t.get(0).failedOn]], [2, ["a", "b"]]);
});

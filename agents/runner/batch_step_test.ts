import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { runTaskBatch } from "./batch_step.ts";
import { exportNameOf, taskModule } from "./code_ref.ts";
import * as tasks from "../../tests/runner/fixtures/tasks.ts";

const URL_ = new URL("../../tests/runner/fixtures/tasks.ts", import.meta.url).href;

Deno.test("a batch resolves references from kept results and from earlier tasks of the batch", async () => {
  const out = await runTaskBatch({
    code: { moduleUrl: URL_ },
    names: ["addOne", "sum"],
    ids: [10, 11, 12],
    fns: [0, 1, 1],
    args: [[1], [{ $runnerFuture: 10 }, { $runnerFuture: 3 }], [{ $runnerFuture: 99 }, 1]],
    refs: [1, 2],
    deps: { 3: 40 },
  });
  assertEquals(out.values.slice(0, 2), [2, 42]);
  assertEquals(out.missing, [[2, 99]]);
  assertEquals(out.failures, []);
});

Deno.test("a throwing task fails alone, with its name, message and stack", async () => {
  const out = await runTaskBatch({
    code: { moduleUrl: URL_ },
    names: ["explode", "addOne"],
    ids: [1, 2],
    fns: [0, 1],
    args: [["x"], [1]],
    deps: {},
  });
  assertEquals(out.values[1], 2);
  const [[position, failure]] = out.failures;
  assertEquals([position, failure.name, failure.message], [0, "RangeError", "exploded: x"]);
  assert(failure.stack?.includes("explode"));
});

Deno.test("a task whose value is not plain data fails alone, naming the value", async () => {
  const out = await runTaskBatch({
    code: { moduleUrl: URL_ },
    names: ["ratio", "makeFunction", "addOne"],
    ids: [1, 2, 3, 4],
    fns: [0, 0, 1, 2],
    args: [[1, 2], [1, 0], [7], [1]],
    deps: {},
  });
  assertEquals([out.values[0], out.values[3]], [0.5, 2]);
  assertEquals(out.failures.map(([i, f]) => [i, f.name]), [[1, "TypeError"], [2, "TypeError"]]);
  const [[, infinity], [, fn]] = out.failures;
  assert(
    infinity.message.includes("'ratio' returned a value that is not plain data at $ (non-finite number)"),
  );
  assert(fn.message.includes("'makeFunction' returned a value that is not plain data at $ (function)"));
});

Deno.test("exportNameOf finds an export by identity and refuses what is not exported", () => {
  const module = taskModule(URL_, tasks);
  assertEquals(exportNameOf(module, tasks.sum), "sum");
  const alias = { ...tasks, plusOne: tasks.addOne };
  assertEquals(exportNameOf(taskModule(URL_, alias), tasks.addOne), "addOne");
  for (const bad of [() => 1, function addOne() {}, 42]) {
    try {
      exportNameOf(module, bad);
      assert(false, "accepted");
    } catch (err) {
      assertEquals((err as { code: string }).code, "not_exported");
    }
  }
});

Deno.test("a module named by hash is imported once per worker, from the source the executor sends", async () => {
  const hash = "ab".repeat(32);
  const batch = {
    code: { hash, from: "http://127.0.0.1:1" },
    names: ["twice"],
    ids: [1],
    args: [[21]],
    deps: {},
  };
  // A worker that never loaded it says so and runs nothing.
  assertEquals((await runTaskBatch(batch)).needsCode, true);
  const source = "data:text/javascript,export function twice(x) { return 2 * x; }";
  assertEquals((await runTaskBatch({ ...batch, source })).values, [42]);
  // Later batches name it only.
  const again = await runTaskBatch({ ...batch, ids: [2], args: [[5]] });
  assertEquals([again.needsCode, again.values], [undefined, [10]]);
});

Deno.test("with export names only, a function is found by its name", () => {
  const module = taskModule({ hash: "cd".repeat(32), from: "http://127.0.0.1:1" }, ["addOne"]);
  assertEquals(exportNameOf(module, tasks.addOne), "addOne");
  try {
    exportNameOf(module, tasks.sum);
    assert(false, "accepted");
  } catch (err) {
    assertEquals((err as { code: string }).code, "not_exported");
    assert((err as Error).message.includes("'sum' as it is not exported"), (err as Error).message);
  }
});

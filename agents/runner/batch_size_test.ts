import { assertEquals } from "../../tests/helpers/assert.ts";
import { batchLimit, MAX_BATCH } from "./batch_size.ts";

Deno.test("a batch holds about 20 ms of work, at most a quarter of the queue per two executors", () => {
  assertEquals(batchLimit(3.3, 1000, 2), 6);
  assertEquals(batchLimit(3.3, 20, 2), 5);
  assertEquals(batchLimit(3.3, 6, 2), 2);
  assertEquals(batchLimit(3.3, 1, 2), 1);
  // A task longer than the target still goes, alone.
  assertEquals(batchLimit(500, 100, 2), 1);
});

Deno.test("tiny tasks go thousands at a time, down to 1 ms of work at the queue's end", () => {
  assertEquals(batchLimit(0.0003, 50_000, 2), MAX_BATCH);
  // 1 ms of work even when that is more than a share of the queue (the batch takes what is there).
  assertEquals(batchLimit(0.001, 50, 2), 1000);
  assertEquals(batchLimit(0.01, 5_000, 2), 1250);
  assertEquals(batchLimit(0.01, 200, 2), 100);
});

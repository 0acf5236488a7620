import { assertEquals } from "../../tests/helpers/assert.ts";
import { SnapshotTable } from "./snapshot_table.ts";
import { NOW, snapshot } from "./test_snapshots.ts";

Deno.test("the newer observedAt wins when snapshots of one host meet", () => {
  const table = new SnapshotTable();
  assertEquals(table.merge(snapshot("a", { observedAt: NOW, load1: 1 })), true);
  assertEquals(table.merge(snapshot("a", { observedAt: NOW - 1000, load1: 9 })), false);
  assertEquals(table.get("http://a:8765/")?.load1, 1);
  assertEquals(table.merge(snapshot("a", { observedAt: NOW + 1000, load1: 2 })), true);
  assertEquals([table.size, table.get("http://a:8765")?.load1], [1, 2]);
});

Deno.test("fresh() filters by age; prune() forgets old hosts; mergeAll skips this host's own URL", () => {
  const table = new SnapshotTable();
  const merged = table.mergeAll([
    snapshot("a"),
    snapshot("b", { observedAt: NOW - 30_000 }),
    snapshot("self", { observedAt: NOW + 5 }),
  ], "http://self:8765");
  assertEquals(merged, 2);
  assertEquals(table.fresh(NOW, 20_000).map((s) => s.hostName), ["a"]);
  assertEquals(table.prune(NOW, 20_000), 1);
  assertEquals(table.all().map((s) => s.hostName), ["a"]);
});

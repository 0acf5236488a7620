import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { SelectTargetsRequest } from "./contract.ts";
import { freeSlots, selectTargets } from "./select.ts";
import { GIB, NOW, snapshot } from "./test_snapshots.ts";

const context = { now: NOW, selfUrl: "http://self:8765", defaultMaxAgeMs: 20_000 };
const request = (fields: Record<string, unknown> = {}) => SelectTargetsRequest.parse(fields);

Deno.test("hosts above maxLoadPerCpu are rejected with the reason (the original ignored the limit)", () => {
  const reply = selectTargets(
    [
      snapshot("idle", { load1: 0.4 }),
      snapshot("busy", { load1: 3.6 }), // 0.9 per cpu
      snapshot("overloaded", { load1: 6 }), // 1.5 per cpu
    ],
    request({ maxLoadPerCpu: 0.75 }),
    context,
  );
  assertEquals(reply.targets.map((t) => t.hostName), ["idle"]);
  assertEquals(reply.rejected.map((r) => [r.hostName, r.reasons]), [
    ["busy", ["load per cpu 0.90 > 0.75"]],
    ["overloaded", ["load per cpu 1.50 > 0.75"]],
  ]);
});

Deno.test("hosts busier than maxCpuPercent are rejected; an unknown CPU share is not", () => {
  const reply = selectTargets(
    [
      snapshot("hot", { cpuPercent: 97 }),
      snapshot("unknown", { cpuPercent: null }),
    ],
    request({ maxCpuPercent: 90 }),
    context,
  );
  assertEquals(reply.targets.map((t) => t.hostName), ["unknown"]);
  assertEquals(reply.rejected[0].reasons, ["cpu 97.0% > 90%"]);
});

Deno.test("eligible hosts rank by free capacity: lower load and pressure first, bigger host on ties", () => {
  const reply = selectTargets(
    [
      snapshot("loaded", { load1: 3 }), // 0.75 per cpu weighs more than a 95% full work disk
      snapshot("small", { cpuCount: 2 }),
      snapshot("big", { cpuCount: 16 }),
      snapshot("full-disk", { workPercentUsed: 95 }),
    ],
    request(),
    context,
  );
  assertEquals(reply.targets.map((t) => t.hostName), ["big", "small", "full-disk", "loaded"]);
  assert(reply.targets.every((t, i, all) => i === 0 || all[i - 1].score <= t.score));
});

Deno.test("freeSlots is floor(cpuCount × maxLoadPerCpu − load1), never negative", () => {
  assertEquals(freeSlots({ cpuCount: 8, load1: 2.5 }, 1.0), 5);
  assertEquals(freeSlots({ cpuCount: 8, load1: 2.5 }, 0.75), 3);
  assertEquals(freeSlots({ cpuCount: 2, load1: 5 }, 1.0), 0);
  const reply = selectTargets(
    [snapshot("a", { cpuCount: 8, load1: 2.5 })],
    request({ maxLoadPerCpu: 0.75 }),
    context,
  );
  assertEquals(reply.targets[0].freeSlots, 3);
});

Deno.test("memory, work disk, tags, exclusions, staleness and errors each reject with a reason", () => {
  const reply = selectTargets(
    [
      snapshot("low-mem", { memoryAvailableBytes: 1 * GIB }),
      snapshot("low-disk", { workFreeBytes: 1 * GIB }),
      snapshot("no-gpu", { tags: ["linux"] }),
      snapshot("laptop", { tags: ["gpu", "laptop"] }),
      snapshot("excluded", { tags: ["gpu"] }),
      snapshot("stale", { tags: ["gpu"], observedAt: NOW - 60_000 }),
      snapshot("broken", { tags: ["gpu"], errors: ["work disk: EIO"] }),
      snapshot("good", { tags: ["gpu"] }),
    ],
    request({
      minMemoryAvailableBytes: 2 * GIB,
      minWorkFreeBytes: 2 * GIB,
      requiredTags: ["GPU"],
      excludedTags: ["laptop"],
      excludeHosts: ["excluded"],
    }),
    context,
  );
  assertEquals(reply.targets.map((t) => t.hostName), ["good"]);
  const reasons = Object.fromEntries(reply.rejected.map((r) => [r.hostName, r.reasons.join(" | ")]));
  assertEquals(reasons, {
    "low-mem": "missing tag gpu | memory available 1.00 GiB < 2.00 GiB",
    "low-disk": "missing tag gpu | work disk free 1.00 GiB < 2.00 GiB",
    "no-gpu": "missing tag gpu",
    laptop: "excluded tag laptop",
    excluded: "excluded host",
    stale: "stale: observed 60 s ago (max 20 s)",
    broken: "snapshot errors: work disk: EIO",
  });
});

Deno.test("preferred tags lift a host above an equal one; includeSelf=false and offline hosts are rejected", () => {
  const reply = selectTargets(
    [
      snapshot("plain"),
      snapshot("fast", { tags: ["nvme"] }),
      snapshot("self"),
      snapshot("gone"),
    ],
    request({ preferredTags: ["nvme"], includeSelf: false }),
    {
      ...context,
      online: new Set(["http://plain:8765", "http://fast:8765", "http://self:8765"]),
    },
  );
  assertEquals(reply.targets.map((t) => [t.hostName, t.preferredTagsMatched]), [["fast", ["nvme"]], [
    "plain",
    [],
  ]]);
  assertEquals(reply.rejected.map((r) => [r.hostName, r.reasons]), [["gone", ["offline"]], ["self", [
    "self excluded",
  ]]]);
});

Deno.test("limit keeps the best targets; maxAgeSeconds overrides the default age", () => {
  const hosts = [
    snapshot("a", { load1: 1 }),
    snapshot("b"),
    snapshot("c", { load1: 2, observedAt: NOW - 30_000 }),
  ];
  assertEquals(selectTargets(hosts, request({ limit: 1 }), context).targets.map((t) => t.hostName), ["b"]);
  assertEquals(selectTargets(hosts, request({ maxAgeSeconds: 60 }), context).targets.map((t) => t.hostName), [
    "b",
    "a",
    "c",
  ]);
});

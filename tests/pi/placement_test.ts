import { assertEquals } from "../helpers/assert.ts";
import {
  autoBatchCount,
  autoBatches,
  fallbackHost,
  hostCapacity,
  type HostLoad,
  launchSlots,
  type PlacementLimits,
  withinLimits,
} from "../../examples/pi/placement.ts";

const host = (name: string, cpuCount: number, load1: number, score = load1 / cpuCount): HostLoad => ({
  hostName: name,
  hostUrl: `http://${name}`,
  cpuCount,
  load1,
  cpuPercent: null,
  score,
});
const limits = (over: Partial<PlacementLimits> = {}): PlacementLimits => ({
  maxLoadPerCpu: 1,
  maxCpuPercent: 100,
  maxWorkersPerHost: 0,
  maxInFlight: 0,
  ...over,
});

Deno.test("free slots round up: an idle 2-core host takes two batches, a half-busy one takes one", () => {
  assertEquals(hostCapacity(host("a", 2, 0.2), 0, limits()), 2);
  assertEquals(hostCapacity(host("a", 2, 1.0), 0, limits()), 1);
  assertEquals(hostCapacity(host("a", 2, 1.7), 0, limits()), 1);
  assertEquals(hostCapacity(host("a", 2, 2.5), 0, limits()), 0);
  assertEquals(hostCapacity(host("a", 8, 0), 0, limits({ maxLoadPerCpu: 0.5 })), 4);
});

Deno.test("the job's own running batches count back in, but a host never takes more than its budget", () => {
  // load1 2.3 of which 2 are ours: the host runs its two and has no room for a third.
  assertEquals(hostCapacity(host("a", 2, 2.3), 2, limits()), 0);
  assertEquals(withinLimits(host("a", 2, 2.3), 2, limits()), true);
  // Right after launching, load1 has not seen our batches yet: still no third one.
  assertEquals(hostCapacity(host("a", 2, 0.1), 2, limits()), 0);
  // One of ours runs and strangers use a core: full. Without the strangers, one more fits.
  assertEquals(hostCapacity(host("a", 2, 2.0), 1, limits()), 0);
  assertEquals(hostCapacity(host("a", 2, 1.0), 1, limits()), 1);
});

Deno.test("maxWorkersPerHost caps a host and maxInFlight caps the whole job", () => {
  const hosts = [host("a", 4, 0), host("b", 4, 0)];
  assertEquals(launchSlots(hosts, new Map(), limits({ maxWorkersPerHost: 1 }), 10), ["http://a", "http://b"]);
  assertEquals(launchSlots(hosts, new Map(), limits({ maxInFlight: 3 }), 10).length, 3);
  const running = new Map([["http://a", 2]]);
  assertEquals(launchSlots(hosts, running, limits({ maxInFlight: 3 }), 10).length, 1);
});

Deno.test("launches spread across hosts best-ranked first, one at a time", () => {
  const hosts = [host("slow", 2, 0.5, 0.9), host("fast", 2, 0, 0.1)];
  assertEquals(launchSlots(hosts, new Map(), limits(), 3), ["http://fast", "http://slow", "http://fast"]);
});

Deno.test("a host above the CPU limit (strangers' share) takes nothing; the fallback picks the least loaded", () => {
  const busy = { ...host("a", 2, 0.1), cpuPercent: 95 };
  assertEquals(hostCapacity(busy, 0, limits({ maxCpuPercent: 80 })), 0);
  // Our own batch explains half of it.
  assertEquals(withinLimits(busy, 1, limits({ maxCpuPercent: 80 })), true);
  assertEquals(fallbackHost([host("a", 2, 3), host("b", 4, 4)], "http://self"), "http://b");
  assertEquals(fallbackHost([], "http://self"), "http://self");
});

Deno.test("automatic batches: two on one host (the first smaller), more across hosts, none too small", () => {
  assertEquals(autoBatchCount(70_524, 2, 1), 2);
  assertEquals(autoBatchCount(70_524, 0, 1), 2);
  assertEquals(autoBatchCount(70_524, 4, 2), 8);
  assertEquals(autoBatchCount(73, 2, 1), 1);
  const [first, second] = autoBatches(70_524, 2);
  assertEquals([first.a, second.b, first.b === second.a], [0, 70_524, true]);
  assertEquals(first.b < 70_524 / 2, true);
  const four = autoBatches(1000, 4);
  assertEquals(four.map((b) => b.index), [0, 1, 2, 3]);
  assertEquals(four.every((b, i) => i === 0 || b.a === four[i - 1].b) && four[3].b === 1000, true);
});

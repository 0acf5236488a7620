import { assertEquals } from "../helpers/assert.ts";
import {
  autoBatchCount,
  autoBatches,
  fallbackHost,
  freshCoresOf,
  hostCapacity,
  type HostLoad,
  launchSlots,
  loadOverLimit,
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

Deno.test("compute-slots' count of cores in use now overrides a load average left by work that ended", () => {
  // A minute-old load1 of 1.3 on 2 cores, while compute-slots measures 0.1 cores in use: room for two.
  const stale = (freshCores: number) => ({ ...host("a", 2, 1.3), freshCores });
  assertEquals(hostCapacity(host("a", 2, 1.3), 0, limits()), 1);
  assertEquals(hostCapacity(stale(0.1), 0, limits()), 2);
  // The fresher count only ever lowers the load: busier now than load1 says, load1 decides.
  assertEquals(hostCapacity(stale(1.8), 0, limits()), 1);
  // Our one running batch holds a lease (in freshCores): one more fits, not two.
  assertEquals(hostCapacity(stale(1.1), 1, limits()), 1);
  // Above the limit by load1 alone, within it by the fresh count.
  assertEquals(withinLimits(host("a", 2, 2.5), 0, limits()), false);
  assertEquals(
    withinLimits(stale(0.2), 0, limits()) &&
      withinLimits({ ...host("a", 2, 2.5), freshCores: 0.2 }, 0, limits()),
    true,
  );
  // From compute-slots' status: other processes' busy cores plus reservations, when measured and fresh.
  const status = { hostUrl: "http://a", otherCpuBusy: 0.25, reservedCpuCores: 1 };
  assertEquals(freshCoresOf(status), 1.25);
  assertEquals(freshCoresOf({ ...status, fresh: false }), undefined);
  assertEquals(freshCoresOf({ ...status, otherCpuBusy: undefined }), undefined);
  // The fallback picks the host least loaded by the same count.
  assertEquals(
    fallbackHost([host("b", 2, 1.0), { ...host("c", 2, 1.9), freshCores: 0.1 }], "http://self"),
    "http://c",
  );
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

Deno.test("every batch one placement launches passes the batch worker's own check", () => {
  // A pump launches k = hostCapacity batches on a host; the i-th goes with ownWorkersOnHost = p + i
  // (p: the job's batches already running there). Its worker checks before taking its own lease, and
  // by then the other batches of the pump may hold theirs: compute-slots' count of cores in use has
  // grown by up to k - 1. Deterministic pseudo-random hosts, load1 unchanged meanwhile.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let launched = 0;
  for (let n = 0; n < 2000; n++) {
    const cpus = 1 + Math.floor(next() * 8);
    const load1 = next() * cpus * 2;
    const running = Math.floor(next() * 3);
    const others = next() * cpus * 1.5;
    const measured = next() < 0.7; // else no compute-slots figure: load1 alone on both sides
    const max = 0.25 + next() * 1.5;
    const atRefresh: HostLoad = {
      ...host("a", cpus, load1),
      ...(measured ? { freshCores: others + running } : {}),
    };
    const k = hostCapacity(atRefresh, running, limits({ maxLoadPerCpu: max }));
    for (let i = 0; i < k; i++) {
      for (const leasedSince of [0, k - 1]) {
        const atCheck = {
          cpuCount: cpus,
          load1,
          ...(measured ? { freshCores: others + running + leasedSince } : {}),
        };
        assertEquals(
          loadOverLimit(atCheck, running + i, max),
          null,
          JSON.stringify({ cpus, load1, running, others, measured, max, k, i, leasedSince }),
        );
        launched++;
      }
    }
  }
  assertEquals(launched > 1000, true, "the hosts gave room often enough to test it");
});

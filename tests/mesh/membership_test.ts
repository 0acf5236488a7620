/** Merge rules of the membership table, on a virtual clock (no network). */
import { assert, assertEquals } from "../helpers/assert.ts";
import {
  type HostIdentity,
  LEFT_HEARTBEAT,
  type MemberRecord,
  type MembershipChange,
  MembershipTable,
} from "../../host/mesh/membership.ts";
import { offlineFloorMs } from "../../host/mesh/gossip.ts";
import { nextIncarnation } from "../../host/mesh/mesh_extension.ts";

function identity(name: string, meshVersion = "dev"): HostIdentity {
  return {
    name,
    url: `http://127.0.0.1:${8000 + name.charCodeAt(0)}`,
    meshVersion,
    tags: [],
    properties: {},
    cpuCount: 4,
  };
}

function record(
  name: string,
  incarnation: number,
  heartbeat: number,
  ageMs = 0,
  meshVersion = "dev",
): MemberRecord {
  return { ...identity(name, meshVersion), incarnation, heartbeat, ageMs };
}

function table(
  options: { offlineAfterMs?: number; forgetAfterMs?: number; self?: string; heartbeatLateMs?: number } = {},
) {
  const clock = { now: 1_000_000 };
  const changes: [MembershipChange, string][] = [];
  const t = new MembershipTable({
    self: identity(options.self ?? "a"),
    incarnation: 1,
    offlineAfterMs: options.offlineAfterMs ?? 1000,
    forgetAfterMs: options.forgetAfterMs,
    heartbeatLateMs: () => options.heartbeatLateMs ?? 0,
    now: () => clock.now,
    onChange: (change, member) => changes.push([change, member.name]),
  });
  return { t, clock, changes };
}

Deno.test("a newer incarnation supersedes a host's old record and an older one is ignored", () => {
  const { t, changes } = table();
  assert(t.mergeRecord(record("b", 5, 10)));
  assert(!t.mergeRecord(record("b", 4, 99)), "older incarnation ignored");
  assertEquals(t.byName("b")!.heartbeat, 10);
  assert(t.mergeRecord(record("b", 6, 0)), "restart supersedes");
  assertEquals([t.byName("b")!.incarnation, t.byName("b")!.heartbeat], [6, 0]);
  assertEquals(changes.filter(([c]) => c === "joined" || c === "restarted"), [["joined", "b"], [
    "restarted",
    "b",
  ]]);
});

Deno.test("a host is offline once its heartbeat stops increasing for offlineAfterMs, and online when it moves again", () => {
  const { t, clock, changes } = table({ offlineAfterMs: 1000 });
  t.mergeRecord(record("b", 1, 1));
  assert(t.isOnline("b"));
  clock.now += 999;
  assert(t.isOnline("b"));
  assert(!t.mergeHeartbeat(["b", 1, 1, 0]), "the same heartbeat is not progress");
  clock.now += 1;
  assert(!t.isOnline("b"));
  t.sweep();
  assert(t.mergeHeartbeat(["b", 1, 2, 0]));
  assert(t.isOnline("b"));
  assertEquals(changes.filter(([c]) => c === "online" || c === "offline"), [
    ["online", "b"],
    ["offline", "b"],
    ["online", "b"],
  ]);
});

Deno.test("a heartbeat is dated by its age, so stale news of a dead host never makes it look alive", () => {
  const { t } = table({ offlineAfterMs: 1000 });
  t.mergeRecord(record("b", 1, 7, 5000));
  assertEquals(t.isOnline("b"), false);
  t.mergeRecord(record("c", 1, 7, 400));
  assertEquals(t.byName("c")!.lastSeen, 1_000_000 - 400);
  // Relayed onwards, the age keeps growing from the first observation.
  const relayed = t.records(["c"])[0];
  assertEquals(relayed.ageMs, 400);
});

Deno.test("records of another mesh version are refused and never listed", () => {
  const { t, changes } = table();
  assert(!t.mergeRecord(record("x", 1, 1, 0, "other")));
  assertEquals(t.list().map((m) => m.name), ["a"]);
  assertEquals(changes, [["rejected", "x"]]);
});

Deno.test("this host's own record is never replaced by gossip about it", () => {
  const { t, changes } = table();
  assert(!t.mergeRecord(record("a", 0, 50)), "our previous incarnation");
  assert(!t.mergeRecord({ ...record("a", 99, 1), url: "http://127.0.0.1:1" }), "an impostor");
  assertEquals(t.byName("a")!.incarnation, 1);
  assertEquals(t.byName("a")!.self, true);
  assertEquals(changes, [["name-conflict", "a"]]);
  assertEquals([t.byName("a")!.state, t.displacedBy], ["displaced", {
    url: "http://127.0.0.1:1",
    incarnation: 99,
  }]);
  // The same record in the next rounds (gossip repeats it) is not reported again; another one is.
  assert(!t.mergeRecord({ ...record("a", 99, 2), url: "http://127.0.0.1:1" }));
  assertEquals(changes, [["name-conflict", "a"]]);
  assert(!t.mergeRecord({ ...record("a", 100, 1), url: "http://127.0.0.1:1" }));
  assertEquals(changes, [["name-conflict", "a"], ["name-conflict", "a"]]);
  // Once the other host says it left, this one takes its name back above it: peers list it again.
  assert(t.mergeRecord({ ...record("a", 100, LEFT_HEARTBEAT), url: "http://127.0.0.1:1" }));
  assertEquals(t.incarnation, 101);
  assertEquals(t.byName("a")!.self, true);
  assertEquals([t.byName("a")!.state, t.displacedBy], ["online", null]);
  assertEquals(t.records(["a"])[0].incarnation, 101);
  const peer = table({ self: "b" }).t;
  peer.mergeRecord({ ...record("a", 100, LEFT_HEARTBEAT), url: "http://127.0.0.1:1" });
  assert(peer.mergeRecord(t.records(["a"])[0]), "the peer takes the record that came back");
  assertEquals([peer.byName("a")!.url, peer.isOnline("a")], [t.selfUrl, true]);
});

Deno.test("a live host started earlier with this host's name is reported once; this host keeps the name", () => {
  const { t, changes } = table();
  const earlier = { ...record("a", 0, 7), url: "http://127.0.0.1:2" };
  assert(!t.mergeRecord(earlier));
  assert(!t.mergeRecord({ ...earlier, heartbeat: 8 }), "its next round");
  assertEquals(changes, [["name-conflict", "a"]]);
  assertEquals([t.byName("a")!.state, t.displacedBy], ["online", null]);
  // One that stopped (it said it left), or whose news is old, is no conflict.
  assert(!t.mergeRecord({ ...record("a", 0, LEFT_HEARTBEAT), url: "http://127.0.0.1:3" }));
  assert(!t.mergeRecord({ ...record("a", 0, 7, 5000), url: "http://127.0.0.1:4" }));
  assertEquals(changes.length, 1);
});

Deno.test("reconcile sends a peer only what it lacks and asks for what this host lacks", () => {
  const { t } = table();
  t.beat();
  t.mergeRecord(record("b", 1, 5));
  t.mergeRecord(record("c", 2, 5));
  t.mergeRecord(record("d", 1, 5));
  const answer = t.reconcile([
    ["a", 1, 1, 0], // up to date on us
    ["b", 1, 9, 0], // newer heartbeat: merged here
    ["c", 2, 3, 0], // older heartbeat: we send ours
    ["e", 1, 1, 0], // unknown here: we want it
  ]);
  assertEquals(t.byName("b")!.heartbeat, 9);
  assertEquals(answer.heartbeats.map(([name, inc, hb]) => [name, inc, hb]), [["c", 2, 5]]);
  assertEquals(answer.records.map((r) => r.name), ["d"]);
  assertEquals(answer.wants, ["e"]);
  assertEquals(t.reconcile(t.digest()), { records: [], heartbeats: [], wants: [] });
});

Deno.test("a host that leaves cleanly is offline at once", () => {
  const { t } = table();
  t.mergeRecord(record("b", 1, 3));
  assert(t.mergeHeartbeat(["b", 1, LEFT_HEARTBEAT, 0]));
  const b = t.byName("b")!;
  assertEquals([b.online, b.left], [false, true]);
  assert(t.mergeRecord(record("b", 2, 0)), "it may come back with a new incarnation");
  assertEquals(t.isOnline("b"), true);
});

Deno.test("a member that left and then refuses a call it did not refuse before is unauthorized", () => {
  const { t, changes } = table();
  const state = (name: string) => {
    const m = t.byName(name)!;
    return [m.state, m.left, m.online];
  };
  t.mergeRecord(record("b", 1, 3));
  t.mergeHeartbeat(["b", 1, LEFT_HEARTBEAT, 0]);
  assertEquals(state("b"), ["left", true, false]);
  t.markRefused(identity("b").url, true);
  assertEquals(state("b"), ["unauthorized", false, false], "back, under another key");
  t.markRefused(identity("b").url, true); // the next round's 401 is no news
  // One that refused before it left (a keyed host in an open mesh) reaches this host: its 401
  // after the leave is from its last moments, and its return would come as a new record.
  t.mergeRecord(record("c", 1, 3));
  t.markRefused(identity("c").url, true);
  assertEquals(state("c"), ["unauthorized", false, false]);
  t.mergeHeartbeat(["c", 1, LEFT_HEARTBEAT, 0]);
  assertEquals(state("c"), ["left", true, false]);
  t.markRefused(identity("c").url, true);
  assertEquals(state("c"), ["left", true, false]);
  t.mergeRecord(record("c", 2, 0));
  assertEquals(state("c"), ["unauthorized", false, false], "a restart keeps the refusal");
  assertEquals(changes.filter(([c]) => c === "unauthorized"), [["unauthorized", "b"], ["unauthorized", "c"]]);
});

Deno.test("hosts offline for forgetAfterMs are dropped and not taken back from stale gossip", () => {
  const { t, clock, changes } = table({ offlineAfterMs: 1000, forgetAfterMs: 10_000 });
  t.mergeRecord(record("b", 1, 1));
  clock.now += 10_000;
  t.sweep();
  assertEquals(t.list().map((m) => m.name), ["a"]);
  assert(changes.some(([c, n]) => c === "forgotten" && n === "b"));
  assert(!t.mergeRecord(record("b", 1, 1, 10_000)), "stale copy refused");
});

Deno.test("the offline threshold grows with the mesh so heartbeats have time to spread", () => {
  assert(offlineFloorMs(3, 1000, 2) < 5000, "small meshes keep the configured 5 s");
  assert(
    offlineFloorMs(100, 1000, 2) > 4000,
    "N=100: above the stalest heartbeat the simulation saw (3.9 s)",
  );
  assert(offlineFloorMs(500, 1000, 2) > 5000, "N=500: above 4.9 s");
  const floorTable = new MembershipTable({
    self: identity("a"),
    incarnation: 1,
    offlineAfterMs: 1000,
    minOfflineAfterMs: (n) => n * 1000,
  });
  floorTable.mergeRecord(record("b", 1, 1));
  assertEquals(floorTable.offlineAfterMs, 2000);
});

Deno.test("a host's incarnation grows across restarts even when the clock goes back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-mesh-inc-" });
  try {
    assertEquals(await nextIncarnation(dir, 5000), 5000);
    assertEquals(await nextIncarnation(dir, 4000), 5001);
    assertEquals(await nextIncarnation(dir, 9000), 9000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a host back at another address is found there from its old one", () => {
  const { t } = table();
  const first = record("b", 5, 10);
  assert(t.mergeRecord(first));
  assertEquals(t.currentUrl(first.url), first.url);
  assert(t.mergeRecord({ ...record("b", 6, 0), url: "http://127.0.0.1:9999" }));
  assertEquals(t.currentUrl(first.url), "http://127.0.0.1:9999");
  assertEquals(t.currentUrl("http://127.0.0.1:1"), null);
});

Deno.test("a host that resumes after a hang is online, not unreachable, until calls to it fail again while it is heard", () => {
  const { t, clock } = table({ offlineAfterMs: 1000 });
  const url = identity("b").url;
  t.mergeRecord(record("b", 1, 1));
  // It hangs: its heartbeat stops, and this host's calls to it go unanswered meanwhile.
  for (let i = 0; i < 6; i++) {
    clock.now += 500;
    t.markAnswered(url, false);
  }
  assertEquals(t.byName("b")!.state, "offline");
  // It resumes: others hear its heartbeat before this host's next exchange with it.
  assert(t.mergeHeartbeat(["b", 1, 2, 0]));
  assertEquals(t.byName("b")!.state, "online");
  // Heard, yet every call from here fails for the offline threshold: unreachable from here.
  for (let beat = 3; beat < 7; beat++) {
    clock.now += 400;
    t.mergeHeartbeat(["b", 1, beat, 0]);
    t.markAnswered(url, false);
  }
  assertEquals(t.byName("b")!.state, "unreachable");
});

Deno.test("a host is found by its id under whatever name and address it came back: its newest record", () => {
  const { t } = table();
  const id = "0123456789abcdef0123456789abcdef";
  assert(t.mergeRecord({ ...record("b", 5, 10), hostId: id }));
  assert(t.mergeRecord({ ...record("c", 7, 0), hostId: id }), "renamed, at another address");
  assertEquals([t.byId(id)?.name, t.byId(id)?.url, t.byId(id)?.hostId], ["c", record("c", 7, 0).url, id]);
  assertEquals(t.byId("f".repeat(32)), undefined);
});

Deno.test("a host whose connection was refused is offline once its heartbeat is late, long before the offline threshold", () => {
  const { t, clock, changes } = table({ offlineAfterMs: 10_000, heartbeatLateMs: 400 });
  const url = identity("b").url;
  t.mergeRecord(record("b", 1, 1));
  // Killed right after its heartbeat: this host's next exchange finds nothing listening there.
  clock.now += 100;
  t.markConnectionRefused(url);
  t.markAnswered(url, false);
  assertEquals(t.byName("b")!.state, "online", "its heartbeat is not late yet");
  assertEquals(t.peerUrls().late, []);
  clock.now += 300;
  assertEquals(t.peerUrls().late, [], "a late member is not online, so no longer probed as one");
  assertEquals(t.byName("b")!.state, "offline");
  t.sweep();
  assertEquals(changes.filter(([c]) => c === "offline"), [["offline", "b"]]);
});

Deno.test("a late host that answers slowly is asked directly and stays online until its offline threshold", () => {
  const { t, clock } = table({ offlineAfterMs: 10_000, heartbeatLateMs: 400 });
  const url = identity("b").url;
  t.mergeRecord(record("b", 1, 1));
  clock.now += 500;
  assertEquals(t.peerUrls().late, [url], "its heartbeat is late: this host asks it directly");
  // Its exchanges time out: slow is not dead.
  for (let i = 0; i < 5; i++) {
    clock.now += 1000;
    t.markAnswered(url, false);
  }
  assertEquals(t.byName("b")!.state, "online");
  clock.now += 5000;
  assertEquals(t.byName("b")!.state, "offline", "its heartbeat stopped for the offline threshold");
});

Deno.test("a host heard after it refused this host's connection refuses only this host: not offline for that", () => {
  const { t, clock } = table({ offlineAfterMs: 10_000, heartbeatLateMs: 400 });
  const url = identity("b").url;
  t.mergeRecord(record("b", 1, 1));
  clock.now += 500;
  t.markConnectionRefused(url);
  assertEquals(t.byName("b")!.state, "offline");
  // A heartbeat it produced after the refusal, through another host: it lives, behind a firewall.
  clock.now += 300;
  assert(t.mergeHeartbeat(["b", 1, 2, 100]));
  assertEquals(t.byName("b")!.state, "online");
  for (let beat = 3; beat < 6; beat++) {
    clock.now += 500;
    t.markConnectionRefused(url);
    t.markAnswered(url, false);
    assertEquals(t.byName("b")!.state, "online", "its refusals are judged as unanswered exchanges");
    t.mergeHeartbeat(["b", 1, beat, 0]);
  }
  // An answer ends that; a new incarnation starts afresh.
  t.markAnswered(url, true);
  clock.now += 500;
  t.markConnectionRefused(url);
  assertEquals(t.byName("b")!.state, "offline");
  t.mergeRecord(record("b", 2, 1));
  assertEquals(t.byName("b")!.state, "online");
});

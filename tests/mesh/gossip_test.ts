/** Gossip rounds over an in-memory transport, and the simulation's claims at a small scale. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { simulate } from "../../scripts/bench/gossip_sim.ts";
import { GossipNode } from "../../host/mesh/gossip.ts";
import { MembershipTable } from "../../host/mesh/membership.ts";
import type { GossipRequest, GossipResponse } from "../../host/mesh/protocol.ts";
import { PagletError } from "../../agents/errors.ts";

Deno.test("a simulated mesh of 40 hosts converges in a few rounds with constant messages per host", async () => {
  const result = await simulate({ n: 40, steadyRounds: 10 });
  assert(result.roundsToConverge <= 10, `converged in ${result.roundsToConverge} rounds`);
  // Fanout 2: two requests per host per round, and now and then one to a member whose heartbeat is late.
  assert(
    result.requestsPerHostPerRound <= 2.1,
    `${result.requestsPerHostPerRound} requests per host per round`,
  );
  assert(
    result.messagesPerHostPerRound <= 4.5,
    `${result.messagesPerHostPerRound} messages per host per round`,
  );
  assertEquals(result.falseOfflineReports, 0);
  assert(result.detectOfflineMs <= 7000, `killed host offline after ${result.detectOfflineMs} ms`);
  assert(result.roundsToRejoin <= 10, `restarted host back after ${result.roundsToRejoin} rounds`);
});

Deno.test("a request from another mesh version is refused with mesh_version_mismatch", () => {
  const table = new MembershipTable({
    self: { name: "a", url: "http://127.0.0.1:1", meshVersion: "v1", tags: [], properties: {}, cpuCount: 1 },
    incarnation: 1,
  });
  const node = new GossipNode(table, () => Promise.reject(new Error("unused")));
  try {
    node.handle({ meshVersion: "v2", from: { name: "b", url: "http://127.0.0.1:2" }, digest: [] });
    throw new Error("expected a refusal");
  } catch (err) {
    assertEquals((err as { code?: string }).code, "mesh_version_mismatch");
  }
});

Deno.test("a seed that does not answer is retried with growing pauses, and contacted no more once it is a member", async () => {
  const clock = { now: 0 };
  const calls: string[] = [];
  let bAlive = false;
  const b = new GossipNode(
    new MembershipTable({
      self: { name: "b", url: "http://b:1", meshVersion: "dev", tags: [], properties: {}, cpuCount: 1 },
      incarnation: 1,
      now: () => clock.now,
    }),
    // b reaches a once a exists (b gossips only after it answered).
    (_url, request) => Promise.resolve(a.handle(request)),
  );
  const transport = (url: string, request: GossipRequest): Promise<GossipResponse> => {
    calls.push(url);
    return bAlive ? Promise.resolve(b.handle(request)) : Promise.reject(new Error("refused"));
  };
  const a = new GossipNode(
    new MembershipTable({
      self: { name: "a", url: "http://a:1", meshVersion: "dev", tags: [], properties: {}, cpuCount: 1 },
      incarnation: 1,
      now: () => clock.now,
    }),
    transport,
    { seeds: ["http://b:1", "http://a:1"], random: () => 0.5 },
  );
  const callRounds: number[] = [];
  for (let round = 1; round <= 20; round++) {
    clock.now = round * 1000;
    const before = calls.length;
    await a.round();
    if (calls.length > before) callRounds.push(round);
  }
  assertEquals(callRounds, [1, 2, 4, 8, 16], "backoff 1, 2, 4, 8 rounds (never the seed that is this host)");
  bAlive = true;
  for (let round = 21; round <= 30; round++) {
    clock.now = round * 1000;
    await b.round();
    await a.round();
  }
  assert(a.table.isOnline("b"), "b joined once it answered");
  assert(b.table.isOnline("a"), "and b knows a");
});

Deno.test("a host that others hear but this one cannot reach is unreachable from here, and online again once it answers", async () => {
  const clock = { now: 0 };
  const changes: string[] = [];
  /** Calls that fail: `from>to`. */
  const cut = new Set<string>();
  const nodes = new Map<string, GossipNode>();
  for (const name of ["a", "b", "c"]) {
    const table = new MembershipTable({
      self: { name, url: `http://${name}:1`, meshVersion: "dev", tags: [], properties: {}, cpuCount: 1 },
      incarnation: 1,
      now: () => clock.now,
      offlineAfterMs: 5000,
      onChange: (change, member) => name === "b" && changes.push(`${change}:${member.name}`),
    });
    const transport = (url: string, request: GossipRequest): Promise<GossipResponse> => {
      const to = new URL(url).hostname;
      if (cut.has(`${name}>${to}`)) {
        return Promise.reject(new PagletError("host_unreachable", `cut ${name}>${to}`));
      }
      return Promise.resolve(nodes.get(to)!.handle(request));
    };
    nodes.set(name, new GossipNode(table, transport, { seeds: ["http://a:1"], fanout: 2 }));
  }
  const rounds = async (n: number) => {
    for (let i = 0; i < n; i++) {
      clock.now += 1000;
      for (const node of nodes.values()) await node.round();
    }
  };
  const stateOf = (viewer: string, of: string) =>
    nodes.get(viewer)!.table.list().find((m) => m.name === of)?.state;
  await rounds(4);
  assertEquals(["a", "b", "c"].map((v) => stateOf(v, "a")), ["online", "online", "online"]);

  // b cannot reach a; a reaches b, and c reaches both: a's heartbeat still reaches b.
  cut.add("b>a");
  await rounds(8); // 3 unanswered exchanges, over at least offlineAfterMs
  assertEquals(stateOf("b", "a"), "unreachable");
  assertEquals([stateOf("c", "a"), stateOf("a", "b"), stateOf("b", "c")], ["online", "online", "online"]);
  assert(nodes.get("b")!.table.list({ onlineOnly: true }).every((m) => m.name !== "a"), "placement skips it");
  assert(changes.includes("unreachable:a"), changes.join(" "));

  cut.delete("b>a");
  await rounds(4);
  assertEquals(stateOf("b", "a"), "online");
});

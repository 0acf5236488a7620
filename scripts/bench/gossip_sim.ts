/**
 * In-process simulation of mesh membership: N hosts running the real MembershipTable and
 * GossipNode over an in-memory transport and a virtual clock (no network, no timers).
 *
 * Each host has its own timer phase inside the round, as real hosts do. Host i joins through
 * one random earlier host (a random tree of `--peer` seeds, like "C knows B, B knows A").
 *
 * Measures:
 * - rounds until every host knows every host as online;
 * - messages (requests + answers + pushes) and bytes per host per round in steady state;
 * - the largest heartbeat staleness any host sees of a live host (what offlineAfterMs must exceed);
 * - false "offline" reports about live hosts;
 * - seconds until every host marks a killed host offline, and rounds until a restarted host
 *   (new incarnation, no seeds of its own) is online everywhere again.
 *
 * Usage: `deno run -A scripts/bench/gossip_sim.ts [--n 100,500] [--fanout 2] [--offline-after-ms 5000] [--json]`
 */
import { connectionRefused, GossipNode, heartbeatLateMs, offlineFloorMs } from "../../host/mesh/gossip.ts";
import { type HostIdentity, MembershipTable } from "../../host/mesh/membership.ts";
import type { GossipRequest, GossipResponse } from "../../host/mesh/protocol.ts";
import { prng } from "../../tests/helpers/prng.ts";

export interface SimOptions {
  /** Number of hosts. */
  n: number;
  /** Random online peers per round. @default 2 */
  fanout?: number;
  /** Round length in virtual milliseconds. @default 1000 */
  intervalMs?: number;
  /** The configured threshold; big meshes raise it (see offlineFloorMs). @default 5000 */
  offlineAfterMs?: number;
  /** Steady-state rounds measured after convergence. @default 20 */
  steadyRounds?: number;
  /** Seed of the random generator. @default 1 */
  seed?: number;
  /** Measure bytes (JSON size of every message) in steady state. @default true */
  measureBytes?: boolean;
}

export interface SimResult {
  n: number;
  fanout: number;
  roundsToConverge: number;
  messagesPerHostPerRound: number;
  requestsPerHostPerRound: number;
  bytesPerHostPerRound: number;
  maxStalenessMs: number;
  falseOfflineReports: number;
  detectOfflineMs: number;
  roundsToRejoin: number;
}

interface SimHost {
  name: string;
  url: string;
  phase: number;
  alive: boolean;
  node: GossipNode;
  offlineReports: Map<string, number>;
}

/** Runs one simulation and returns its measurements. */
export async function simulate(options: SimOptions): Promise<SimResult> {
  const {
    n,
    fanout = 2,
    intervalMs = 1000,
    offlineAfterMs = 5000,
    steadyRounds = 20,
    seed = 1,
    measureBytes = true,
  } = options;
  if (!Number.isInteger(n) || n < 2) {
    throw new RangeError(`Cannot simulate as 'n' must be an integer >= 2: current value is ${n}`);
  }
  const random = prng(seed);
  let clock = 0;
  const now = () => clock;
  const byUrl = new Map<string, SimHost>();
  const traffic = { messages: 0, requests: 0, bytes: 0 };
  let counting = false;

  const transport = (url: string, request: GossipRequest): Promise<GossipResponse> => {
    const target = byUrl.get(url);
    if (counting) {
      traffic.messages++;
      traffic.requests++;
      if (measureBytes) traffic.bytes += JSON.stringify(request).length;
    }
    if (!target?.alive) return Promise.reject(connectionRefused(url, "connection refused"));
    const answer = target.node.handle(request);
    if (counting) {
      traffic.messages++;
      if (measureBytes) traffic.bytes += JSON.stringify(answer).length;
    }
    return Promise.resolve(answer);
  };

  const urlOf = (i: number) => `http://10.0.${i >> 8}.${i & 255}:8765`;
  const makeHost = (i: number, incarnation: number, seeds: string[]): SimHost => {
    // Realistic sizes: names like "host-123", LAN URLs, incarnations are epoch milliseconds.
    const name = `host-${i}`;
    const url = urlOf(i);
    const identity: HostIdentity = { name, url, meshVersion: "sim", tags: [], properties: {}, cpuCount: 8 };
    const offlineReports = new Map<string, number>();
    const table = new MembershipTable({
      self: identity,
      incarnation,
      offlineAfterMs,
      minOfflineAfterMs: (members) => offlineFloorMs(members, intervalMs, fanout),
      heartbeatLateMs: (members) => heartbeatLateMs(members, intervalMs, fanout),
      now,
      onChange: (change, member) => {
        if (change === "offline") offlineReports.set(member.name, clock);
        if (change === "online") offlineReports.delete(member.name);
        if (change === "offline" && counting && byUrl.get(member.url)?.alive) falseOffline++;
      },
    });
    const node = new GossipNode(table, transport, { seeds, fanout, intervalMs, random });
    return { name, url, phase: random() * intervalMs, alive: true, node, offlineReports };
  };

  let falseOffline = 0;
  const hosts: SimHost[] = [];
  for (let i = 0; i < n; i++) {
    const seeds = i === 0 ? [] : [urlOf(Math.floor(random() * i))];
    const host = makeHost(i, 1_795_000_000_000 + i, seeds);
    hosts.push(host);
    byUrl.set(host.url, host);
  }
  const order = () => [...hosts].sort((a, b) => a.phase - b.phase);
  let round = 0;
  const runRound = async () => {
    for (const h of order()) {
      if (!h.alive) continue;
      clock = round * intervalMs + h.phase;
      await h.node.round();
    }
    round++;
    clock = round * intervalMs;
  };
  const everyoneSees = (name: string, online: boolean) =>
    hosts.every((h) => !h.alive || h.name === name || h.node.table.isOnline(name) === online);
  const converged = () => hosts.every((h) => h.node.table.list({ onlineOnly: true }).length === n);

  // 1. Join.
  while (!converged()) {
    if (round > 200) throw new Error(`No convergence after 200 rounds (n=${n}, fanout=${fanout})`);
    await runRound();
  }
  const roundsToConverge = round;

  // 2. Steady state.
  let maxStalenessMs = 0;
  counting = true;
  for (let r = 0; r < steadyRounds; r++) {
    await runRound();
    for (const h of hosts) {
      for (const m of h.node.table.list()) {
        if (!m.self) maxStalenessMs = Math.max(maxStalenessMs, clock - m.lastSeen);
      }
    }
  }
  counting = false;
  const perHostRound = (x: number) => x / (n * steadyRounds);

  // 3. Kill one host; time until every other host marks it offline.
  const victim = hosts[Math.floor(n / 2)];
  victim.alive = false;
  const killedAt = clock;
  while (!everyoneSees(victim.name, false)) {
    if (round > roundsToConverge + steadyRounds + 200) {
      throw new Error("The killed host was never marked offline everywhere");
    }
    await runRound();
  }
  const detectOfflineMs = Math.max(
    ...hosts.filter((h) => h.alive).map((h) => (h.offlineReports.get(victim.name) ?? clock) - killedAt),
  );

  // 4. Restart it with a new incarnation and no seeds: the others must find it.
  const restarted = makeHost(Math.floor(n / 2), 1_795_000_100_000, []);
  hosts[Math.floor(n / 2)] = restarted;
  byUrl.set(restarted.url, restarted);
  const restartRound = round;
  while (
    !everyoneSees(restarted.name, true) || restarted.node.table.list({ onlineOnly: true }).length !== n
  ) {
    if (round > restartRound + 500) throw new Error("The restarted host never rejoined");
    await runRound();
  }

  return {
    n,
    fanout,
    roundsToConverge,
    messagesPerHostPerRound: perHostRound(traffic.messages),
    requestsPerHostPerRound: perHostRound(traffic.requests),
    bytesPerHostPerRound: perHostRound(traffic.bytes),
    maxStalenessMs,
    falseOfflineReports: falseOffline,
    detectOfflineMs,
    roundsToRejoin: round - restartRound,
  };
}

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const sizes = (flag("--n") ?? "100,500").split(",").map(Number);
  const fanout = Number(flag("--fanout") ?? 2);
  const offlineAfterMs = Number(flag("--offline-after-ms") ?? 5000);
  const results: SimResult[] = [];
  for (const n of sizes) results.push(await simulate({ n, fanout, offlineAfterMs }));
  if (Deno.args.includes("--json")) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    console.log(`gossip simulation: 1 s rounds, fanout ${fanout}, offlineAfterMs ${offlineAfterMs}`);
    for (const r of results) {
      console.log(
        `N=${r.n}: converged in ${r.roundsToConverge} rounds; per host per round ${
          r.messagesPerHostPerRound.toFixed(2)
        } messages ` +
          `(${r.requestsPerHostPerRound.toFixed(2)} requests), ${
            (r.bytesPerHostPerRound / 1024).toFixed(1)
          } KiB; ` +
          `max heartbeat staleness ${
            (r.maxStalenessMs / 1000).toFixed(1)
          } s; false offline ${r.falseOfflineReports}; ` +
          `killed host offline everywhere after ${
            (r.detectOfflineMs / 1000).toFixed(1)
          } s; restarted host back in ${r.roundsToRejoin} rounds`,
      );
    }
  }
}

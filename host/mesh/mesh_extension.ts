/**
 * The mesh as a host extension: membership by gossip over HTTP, the mesh routes, and the
 * {@link MeshRemoteRouter} as `host.remote`.
 *
 * @example
 * ```ts
 * const a = await Host.start({ name: "a", port: 0, dataDir: "/tmp/a" }, [meshExtension()]);
 * const b = await Host.start({ name: "b", port: 0, dataDir: "/tmp/b", peers: [a.url] }, [meshExtension()]);
 * await b.remote!.waitForHost("a", 5000); // true
 * ```
 */
import type { Hono } from "hono";
import { join } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";
import { stringifyTagged } from "../../agents/wire.ts";
import { validate } from "../../agents/operations.ts";
import type { Host, HostExtension } from "../host.ts";
import {
  connectionRefused,
  GossipNode,
  type GossipTransport,
  heartbeatLateMs,
  offlineFloorMs,
} from "./gossip.ts";
import { MembershipTable } from "./membership.ts";
import { MeshReports } from "./mesh_reports.ts";
import { GossipResponseSchema } from "./protocol.ts";
import { baseUrl, MeshRemoteRouter } from "./remote_router.ts";
import { meshRoutes } from "./routes.ts";

/** Default random peers contacted per gossip round. */
export const DEFAULT_FANOUT = 2;

export class MeshExtension implements HostExtension {
  readonly name = "mesh";
  #node?: GossipNode;
  #router?: MeshRemoteRouter;
  #stopping = new AbortController();

  /** The gossip node (undefined before start). */
  get gossip(): GossipNode | undefined {
    return this.#node;
  }

  routes(app: Hono, host: Host): void {
    meshRoutes(app, host, () => this.#node);
  }

  async start(host: Host): Promise<void> {
    const o = host.options;
    const incarnation = await nextIncarnation(o.dataDir);
    // The table is there before anything is reported (reports come from its merges and the rounds).
    const reports = new MeshReports(host, () => table);
    const table = new MembershipTable({
      self: { ...host.info, hostId: host.id },
      incarnation,
      offlineAfterMs: o.offlineAfterMs,
      minOfflineAfterMs: (members) => offlineFloorMs(members, o.gossipIntervalMs, DEFAULT_FANOUT),
      heartbeatLateMs: (members) => heartbeatLateMs(members, o.gossipIntervalMs, DEFAULT_FANOUT),
      onChange: (change, member, detail) => {
        if (change === "name-conflict") return reports.nameConflict(member, detail ?? "");
        host.events.emit(`mesh-host-${change}`, {
          data: {
            name: member.name,
            url: member.url,
            incarnation: member.incarnation,
            ...(member.hostId === undefined ? {} : { hostId: member.hostId }),
            ...(detail ? { detail } : {}),
          },
        });
      },
    });
    this.#stopping = new AbortController();
    const traffic = { sent: 0, received: 0 };
    this.#node = new GossipNode(table, httpTransport(o.apiKey, this.#stopping.signal, traffic), {
      seeds: o.peers.map(seedUrl),
      intervalMs: o.gossipIntervalMs,
      fanout: DEFAULT_FANOUT,
      onError: (url, error) => reports.gossipFailed(url, error),
      onSeedSilent: (url, tries, error) => reports.seedSilent(url, tries, error),
      onSelfSeed: (url) => reports.selfSeed(url),
    });
    this.#router = new MeshRemoteRouter(host, this.#node);
    host.remote = this.#router;
    this.#node.start();
    meshMetrics(host, this.#node, traffic);
  }

  async stop(host: Host): Promise<void> {
    const node = this.#node;
    if (!node) return;
    try {
      await node.leave();
    } finally {
      this.#stopping.abort();
      if (host.remote === this.#router) host.remote = undefined;
    }
  }
}

/** A new mesh extension (one per host). */
export function meshExtension(): MeshExtension {
  return new MeshExtension();
}

/** Gossip over `POST /v1/mesh/gossip` with this mesh's API key; aborted when the host stops. */
export function httpTransport(
  apiKey: string | null,
  stopping: AbortSignal,
  traffic: { sent: number; received: number } = { sent: 0, received: 0 },
): GossipTransport {
  return async (url, request, timeoutMs) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const body = stringifyTagged(request);
    traffic.sent += body.length;
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    let res: Response;
    try {
      res = await fetch(`${url}/v1/mesh/gossip`, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.any([stopping, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      // Nothing listens there: the connection was refused (Deno names it in the cause of fetch's
      // error). Linux's ECONNREFUSED only: elsewhere a full listen queue may answer a connection
      // with a reset too (a busy host, not a dead one), so other systems wait for the threshold.
      const cause = (err as Error & { cause?: unknown }).cause;
      if (cause instanceof Error && /\(os error 111\)/.test(cause.message)) {
        throw connectionRefused(url, "connection refused");
      }
      const timedOut = (err as Error).name === "TimeoutError";
      throw new PagletError(
        timedOut ? "timeout" : "host_unreachable",
        `Gossip with ${url} failed: ${(err as Error).message}`,
      );
    }
    const text = await res.text();
    traffic.received += text.length;
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new PagletError(
        "host_unreachable",
        `Gossip with ${url}: HTTP ${res.status} with a body that is not JSON`,
      );
    }
    if (!res.ok) throw PagletError.fromWire((answer as { error?: unknown })?.error ?? answer);
    try {
      return validate(GossipResponseSchema, answer, `gossip answer of ${url}`);
    } catch (err) {
      // Not this host's request at fault (invalid_request would say a refusal): no paglets host answered.
      throw new PagletError("host_unreachable", (err as Error).message);
    }
  };
}

/** A `--peer` value as a base URL (scheme defaults to http). */
export function seedUrl(peer: string): string {
  const url = baseUrl(peer);
  if (url === null) {
    throw new PagletError(
      "invalid_request",
      `A peer must be a URL like http://10.0.0.5:8765: current value is '${peer}'`,
    );
  }
  return url;
}

/**
 * This process's incarnation: the current time, or one more than the last one recorded in the
 * data dir if the clock went back. Restarting a host therefore always supersedes its old record.
 */
export async function nextIncarnation(dataDir: string, now = Date.now()): Promise<number> {
  const file = join(dataDir, "mesh.json");
  let previous = 0;
  try {
    previous = Number(JSON.parse(await Deno.readTextFile(file)).incarnation) || 0;
  } catch { /* first start */ }
  const incarnation = Math.max(now, previous + 1);
  await Deno.writeTextFile(`${file}.tmp`, JSON.stringify({ incarnation }));
  await Deno.rename(`${file}.tmp`, file);
  return incarnation;
}

/** `paglets_mesh_hosts{state}` and the gossip's rounds, exchanges and bytes, read at scrape time. */
function meshMetrics(host: Host, node: GossipNode, traffic: { sent: number; received: number }): void {
  const r = host.metrics.registry;
  const hosts = r.gauge(
    "paglets_mesh_hosts",
    "Hosts of the mesh as this host sees them (itself included), by state.",
    [
      "state",
    ],
  );
  const rounds = r.counter("paglets_gossip_rounds_total", "Gossip rounds this host ran.");
  const exchanges = r.counter(
    "paglets_gossip_exchanges_total",
    "Gossip requests this host sent, by outcome.",
    ["outcome"],
  );
  const bytes = r.counter("paglets_gossip_bytes_total", "Bytes of gossip this host sent and received.", [
    "direction",
  ]);
  r.collect(() => {
    hosts.clear();
    const byState = new Map<string, number>(
      ["online", "offline", "left", "unauthorized", "unreachable", "displaced"].map((state) => [state, 0]),
    );
    for (const member of node.table.list()) byState.set(member.state, (byState.get(member.state) ?? 0) + 1);
    for (const [state, n] of byState) hosts.set({ state }, n);
    rounds.setTotal({}, node.stats.rounds);
    exchanges.setTotal({ outcome: "ok" }, node.stats.requests - node.stats.failures);
    exchanges.setTotal({ outcome: "failed" }, node.stats.failures);
    bytes.setTotal({ direction: "sent" }, traffic.sent);
    bytes.setTotal({ direction: "received" }, traffic.received);
  });
}

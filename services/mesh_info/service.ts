/**
 * `mesh-info`: every host samples itself every `sampleIntervalMs` and, every `gossipIntervalMs`,
 * exchanges its fresh snapshots with `fanOut` random online peers (never all-to-all), so news
 * spreads in O(log n) rounds at O(n) messages per round for the whole mesh. `landscape` and
 * `select-targets` also ask online hosts that have no fresh snapshot yet directly, in parallel.
 *
 * @module
 */
import type { MeshHost } from "../../agents/context.ts";
import { defineService, type ServiceDefinition } from "../contract.ts";
import type { ServiceHost } from "../service_host.ts";
import { CpuSampler } from "../server_info/cpu.ts";
import { MeshInfoContract, type MeshSnapshot, SyncReply } from "./contract.ts";
import { selectTargets } from "./select.ts";
import { takeSnapshot } from "./snapshot.ts";
import { SnapshotTable } from "./snapshot_table.ts";
import { forEachLimited } from "../../agents/limited.ts";
import { pickRandom } from "../../agents/random_pick.ts";
import { cancel, later, type Timer } from "../../agents/timers.ts";

/** Options of {@link meshInfoService}. */
export interface MeshInfoOptions {
  /** How often this host samples itself. @default 5000 */
  sampleIntervalMs?: number;
  /** How often it gossips with a few peers. @default 2000 */
  gossipIntervalMs?: number;
  /** Age up to which a snapshot counts as fresh. @default max(20000, 4 × sampleIntervalMs) */
  sampleTtlMs?: number;
  /** Peers per gossip round. @default 3 */
  fanOut?: number;
  /** Snapshots per gossip message. @default 64 */
  syncLimit?: number;
  /** Timeout of one peer exchange. @default 1500 */
  peerTimeoutMs?: number;
}

/** The mesh-info service definition. */
export function meshInfoService(options: MeshInfoOptions = {}): ServiceDefinition {
  const config = meshInfoConfig(options);
  return defineService(MeshInfoContract, (host) => {
    const mesh = new MeshInfo(host, config);
    mesh.start();
    return {
      handlers: {
        snapshot: ({ force }) => force ? mesh.sampleSelf(true) : mesh.ownSnapshot(config.sampleIntervalMs),
        sync: async ({ snapshots, maxAgeSeconds, limit }) => {
          mesh.table.mergeAll(snapshots, host.info.url);
          await mesh.ownSnapshot(config.sampleTtlMs);
          return {
            snapshots: mesh.shareable(maxAgeSeconds > 0 ? maxAgeSeconds * 1000 : config.sampleTtlMs, limit),
          };
        },
        landscape: async ({ freshOnly, maxAgeSeconds, limit, refresh }) => {
          const maxAgeMs = maxAgeSeconds > 0 ? maxAgeSeconds * 1000 : config.sampleTtlMs;
          const { online, errors } = await mesh.collect(maxAgeMs, refresh);
          const now = Date.now();
          const hosts = (freshOnly ? mesh.table.fresh(now, maxAgeMs) : mesh.table.all())
            .filter((s) => !online || s.hostUrl === host.info.url || online.has(s.hostUrl))
            .sort((a, b) => a.hostName.localeCompare(b.hostName) || a.hostUrl.localeCompare(b.hostUrl))
            .map((s) => ({ ...s, ageSeconds: Math.max(0, Math.round((now - s.observedAt) / 100) / 10) }));
          return { generatedAt: now, hosts: limit > 0 ? hosts.slice(0, limit) : hosts, errors };
        },
        "select-targets": async (request) => {
          const maxAgeMs = request.maxAgeSeconds > 0 ? request.maxAgeSeconds * 1000 : config.sampleTtlMs;
          const { online, errors } = await mesh.collect(maxAgeMs, true);
          const reply = selectTargets(mesh.table.all(), request, {
            now: Date.now(),
            selfUrl: host.info.url,
            defaultMaxAgeMs: config.sampleTtlMs,
            online,
          });
          return { ...reply, errors };
        },
      },
      stop: () => mesh.stop(),
    };
  });
}

type MeshInfoConfig = Required<MeshInfoOptions>;

/** The first self-sample waits this long after the primed CPU reading, so that CPU time has passed. */
const FIRST_SAMPLE_DELAY_MS = 25;

function meshInfoConfig(options: MeshInfoOptions): MeshInfoConfig {
  const {
    sampleIntervalMs = 5000,
    gossipIntervalMs = 2000,
    fanOut = 3,
    syncLimit = 64,
    peerTimeoutMs = 1500,
  } = options;
  const sampleTtlMs = options.sampleTtlMs ?? Math.max(20_000, 4 * sampleIntervalMs);
  const positive = { sampleIntervalMs, gossipIntervalMs, sampleTtlMs, fanOut, syncLimit, peerTimeoutMs };
  for (const [name, value] of Object.entries(positive)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`Cannot start mesh-info as '${name}' must be positive: current value is ${value}`);
    }
  }
  if (sampleTtlMs <= sampleIntervalMs) {
    throw new RangeError(
      `mesh-info 'sampleTtlMs' (${sampleTtlMs}) must exceed 'sampleIntervalMs' (${sampleIntervalMs})`,
    );
  }
  return Object.freeze(positive);
}

/** The running state of mesh-info on one host. */
class MeshInfo {
  readonly table = new SnapshotTable();
  readonly #host: ServiceHost;
  readonly #config: MeshInfoConfig;
  readonly #cpu = new CpuSampler();
  /** Peer name → why the last exchange with it failed. */
  readonly #peerErrors = new Map<string, string>();
  readonly #timers = new Set<Timer>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #sampling: Promise<MeshSnapshot> | null = null;
  #stopped = false;

  constructor(host: ServiceHost, config: MeshInfoConfig) {
    this.#host = host;
    this.#config = config;
  }

  start(): void {
    // A primed CPU reading makes the first sample (and a placement right after the host started, like
    // the embedded host of `examples pi`) measure since now instead of waiting 200 ms for a reading.
    this.#cpu.prime();
    this.#every(this.#config.sampleIntervalMs, () => this.sampleSelf(), FIRST_SAMPLE_DELAY_MS);
    this.#every(this.#config.gossipIntervalMs, () => this.#gossipRound(), this.#config.gossipIntervalMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) cancel(t);
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Samples this host (concurrent callers share one sample). `afterNow` waits out a sample already
   * under way and takes a new one, so it reflects everything that happened before the call.
   */
  async sampleSelf(afterNow = false): Promise<MeshSnapshot> {
    if (afterNow && this.#sampling) await this.#sampling.catch(() => {});
    this.#sampling ??= takeSnapshot(this.#host, this.#cpu).then((s) => {
      this.table.merge(s);
      return s;
    }).finally(() => this.#sampling = null);
    return await this.#sampling;
  }

  /** This host's latest snapshot, re-sampled when older than `maxAgeMs`. */
  async ownSnapshot(maxAgeMs: number): Promise<MeshSnapshot> {
    const own = this.table.get(this.#host.info.url);
    if (own && Date.now() - own.observedAt <= maxAgeMs) return own;
    return await this.sampleSelf();
  }

  /** Fresh snapshots to hand to a peer: this host's first, then the newest others. */
  shareable(maxAgeMs: number, limit: number): MeshSnapshot[] {
    const fresh = this.table.fresh(Date.now(), maxAgeMs);
    const selfUrl = this.#host.info.url;
    const own = fresh.filter((s) => s.hostUrl === selfUrl);
    return [...own, ...fresh.filter((s) => s.hostUrl !== selfUrl)].slice(0, limit);
  }

  /**
   * Brings the table up to date for a reading: samples this host if needed and asks online hosts
   * without a fresh snapshot directly. Returns the online URLs (undefined without a mesh) and why
   * hosts are missing.
   */
  async collect(
    maxAgeMs: number,
    refresh: boolean,
  ): Promise<{ online?: Set<string>; errors: Record<string, string> }> {
    await this.ownSnapshot(Math.min(maxAgeMs, this.#config.sampleIntervalMs));
    const errors: Record<string, string> = {};
    if (!this.#host.remote) return { errors };
    const hosts = await this.#host.onlineHosts();
    const selfUrl = this.#host.info.url;
    const isFresh = (h: MeshHost) => {
      const s = this.table.get(h.url);
      return !!s && Date.now() - s.observedAt <= maxAgeMs;
    };
    if (refresh) {
      const missing = hosts.filter((h) => h.url !== selfUrl && !isFresh(h));
      await forEachLimited(missing, 32, (h) => this.#exchange(h));
    }
    for (const h of hosts) {
      if (h.url !== selfUrl && !isFresh(h)) {
        errors[h.name] = this.#peerErrors.get(h.name) ?? "no fresh snapshot yet";
      }
    }
    return { online: new Set(hosts.map((h) => h.url.replace(/\/+$/, ""))), errors };
  }

  async #gossipRound(): Promise<void> {
    const { sampleTtlMs, fanOut } = this.#config;
    this.table.prune(Date.now(), Math.max(3 * sampleTtlMs, sampleTtlMs + 1000));
    if (!this.#host.remote) return;
    const peers = (await this.#host.onlineHosts()).filter((h) => h.url !== this.#host.info.url);
    await Promise.all(pickRandom(peers, fanOut).map((peer) => this.#exchange(peer)));
  }

  /** Sends our fresh snapshots to a peer and merges what it knows. */
  async #exchange(peer: MeshHost): Promise<void> {
    const { sampleTtlMs, syncLimit, peerTimeoutMs } = this.#config;
    try {
      const reply = await this.#host.client(peer.url, peerTimeoutMs).callRaw(MeshInfoContract.name, "sync", {
        snapshots: this.shareable(sampleTtlMs, syncLimit),
        limit: syncLimit,
      });
      const parsed = SyncReply.safeParse(reply);
      if (!parsed.success) throw new Error("invalid sync reply");
      this.table.mergeAll(parsed.data.snapshots, this.#host.info.url);
      this.#peerErrors.delete(peer.name);
    } catch (err) {
      this.#peerErrors.set(peer.name, err instanceof Error ? err.message : String(err));
      if (this.#peerErrors.size > 4096) this.#peerErrors.delete(this.#peerErrors.keys().next().value!);
    }
  }

  /** Runs `fn` every `intervalMs` (never overlapping itself) until stopped. */
  #every(intervalMs: number, fn: () => Promise<unknown>, firstDelayMs: number): void {
    const tick = async () => {
      this.#timers.delete(timer);
      if (this.#stopped) return;
      const run = fn().catch(() => {});
      this.#inFlight.add(run);
      await run;
      this.#inFlight.delete(run);
      if (this.#stopped) return;
      timer = later(intervalMs, tick);
      this.#timers.add(timer);
    };
    let timer = later(firstDelayMs, tick);
    this.#timers.add(timer);
  }
}

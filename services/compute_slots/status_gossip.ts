/**
 * Scheduler status exchange between hosts: every `intervalMs` this host sends its status to
 * `fanOut` random online peers (`sync-status`) and takes theirs from the replies; when its own
 * capacity changes (free cores, queue, leases) it does so at once, at most every `minPushMs`. Never
 * all-to-all, so the cost per host stays constant as the mesh grows. Placement also asks online
 * hosts without a fresh status directly ({@linkcode StatusGossip.refresh}).
 *
 * @module
 */
import type { MeshHost } from "../../agents/context.ts";
import { PagletError } from "../../agents/errors.ts";
import type { ServiceHost } from "../service_host.ts";
import { HostStatusWire, StatusReply, SyncStatusReply } from "./contract.ts";
import type { SchedulerHostStatus } from "./host_status.ts";
import { pickRandom } from "../../agents/random_pick.ts";
import { cancel, later, type Timer } from "../../agents/timers.ts";

/** Options of {@linkcode StatusGossip}. */
export interface StatusGossipOptions {
  /** @default 2000 */
  intervalMs: number;
  /** Peers per round. @default 3 */
  fanOut: number;
  /** Timeout of one exchange. @default 1500 */
  timeoutMs: number;
  /** Shortest gap between change-driven pushes. @default 200 */
  minPushMs?: number;
}

/** What the gossip needs from the scheduler. */
export interface GossipHooks {
  /** This host's status now. */
  status(): SchedulerHostStatus;
  /** A peer's status arrived. */
  observe(status: SchedulerHostStatus): void;
  /** The peers the mesh lists online now (URLs without a trailing slash), once a round. */
  reachable(urls: Set<string>): void;
}

/** Gossip of scheduler statuses with a few peers at a time. */
export class StatusGossip {
  /** Peer name → why the last exchange with it failed. */
  readonly errors = new Map<string, string>();
  readonly #host: ServiceHost;
  readonly #options: Required<StatusGossipOptions>;
  readonly #hooks: GossipHooks;
  #timer: Timer | undefined;
  #pushTimer: Timer | undefined;
  #lastPush = 0;
  #lastSignature = "";
  #stopped = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(host: ServiceHost, options: StatusGossipOptions, hooks: GossipHooks) {
    this.#host = host;
    this.#options = { minPushMs: 200, ...options };
    this.#hooks = hooks;
  }

  start(): void {
    const tick = async () => {
      if (this.#stopped) return;
      await this.#track(this.#round());
      if (!this.#stopped) this.#timer = later(this.#options.intervalMs, tick);
    };
    this.#timer = later(Math.min(500, this.#options.intervalMs), tick);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    cancel(this.#timer);
    cancel(this.#pushTimer);
    await Promise.allSettled([...this.#inFlight]);
  }

  /** This host's capacity may have changed: tell a few peers soon if it did. */
  changed(): void {
    if (this.#stopped || !this.#host.remote || this.#pushTimer !== undefined) return;
    const s = this.#hooks.status();
    const signature = `${s.freeCpuCores}|${s.queueLength}|${s.activeLeases}|${s.freeMemoryBytes > 0}`;
    if (signature === this.#lastSignature) return;
    const wait = Math.max(0, this.#lastPush + this.#options.minPushMs - Date.now());
    this.#pushTimer = later(wait, () => {
      this.#pushTimer = undefined;
      if (!this.#stopped) void this.#track(this.#round());
    });
  }

  /**
   * Asks online hosts whose status is older than `maxAgeMs` (by `seenAt`) for it directly, in
   * parallel. Returns host name → error for those that did not answer.
   */
  async refresh(
    seenAt: (url: string) => number | undefined,
    maxAgeMs: number,
  ): Promise<Record<string, string>> {
    const errors: Record<string, string> = {};
    if (!this.#host.remote) return errors;
    const now = Date.now();
    const stale = (await this.#peers()).filter((h) => now - (seenAt(h.url) ?? 0) > maxAgeMs);
    await Promise.all(stale.map(async (peer) => {
      try {
        const reply = await this.#host.client(peer.url, this.#options.timeoutMs).callRaw(
          "compute-slots",
          "status",
          { includeQueue: false, includeLeases: false },
        );
        const parsed = StatusReply.safeParse(reply);
        if (!parsed.success) throw new Error("invalid status reply");
        this.#hooks.observe(parsed.data.host);
        this.errors.delete(peer.name);
      } catch (err) {
        errors[peer.name] = PagletError.from(err).message;
        this.errors.set(peer.name, errors[peer.name]);
      }
    }));
    return errors;
  }

  async #peers(): Promise<MeshHost[]> {
    const self = this.#host.info.url;
    const peers = (await this.#host.onlineHosts()).filter((h) => h.url.replace(/\/+$/, "") !== self);
    this.#hooks.reachable(new Set(peers.map((h) => h.url.replace(/\/+$/, ""))));
    return peers;
  }

  async #round(): Promise<void> {
    if (!this.#host.remote) return;
    const status = this.#hooks.status();
    this.#lastPush = Date.now();
    const s = status;
    this.#lastSignature = `${s.freeCpuCores}|${s.queueLength}|${s.activeLeases}|${s.freeMemoryBytes > 0}`;
    const peers = pickRandom(await this.#peers(), this.#options.fanOut);
    await Promise.all(peers.map((peer) => this.#exchange(peer, status)));
  }

  async #exchange(peer: MeshHost, status: SchedulerHostStatus): Promise<void> {
    try {
      const reply = await this.#host.client(peer.url, this.#options.timeoutMs).callRaw(
        "compute-slots",
        "sync-status",
        { status: HostStatusWire.parse(status) },
      );
      const parsed = SyncStatusReply.safeParse(reply);
      if (!parsed.success) throw new Error("invalid sync-status reply");
      this.#hooks.observe(parsed.data.status);
      this.errors.delete(peer.name);
    } catch (err) {
      this.errors.set(peer.name, PagletError.from(err).message);
      if (this.errors.size > 4096) this.errors.delete(this.errors.keys().next().value!);
    }
  }

  #track<T>(work: Promise<T>): Promise<void> {
    const done = work.then(() => {}, () => {});
    this.#inFlight.add(done);
    return done.finally(() => this.#inFlight.delete(done));
  }
}

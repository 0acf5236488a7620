/**
 * Gossip rounds: every round a host advances its heartbeat and does a push-pull exchange with a
 * small fixed number of peers, so the messages per host per round stay constant however big the
 * mesh grows (see docs/mesh.md for the traffic figures).
 *
 * Targets of one round:
 * - `fanout` random online members;
 * - up to `fanout` online members whose heartbeat is late: their answer brings a fresh one, and a
 *   refused connection says the host is gone (it is offline at once, see {@link MembershipTable});
 * - each seed (`--peer URL`) that has not answered yet (every seed that is not an online member
 *   while this host knows no online peer), with exponential backoff while it does not answer;
 * - with probability `min(1, 2 / onlineMembers)` one random offline member, so a host that comes
 *   back without seeds of its own is found again, while a dead host costs the whole mesh about
 *   two connection attempts per round rather than one per host;
 * - the host that took this host's name, until an exchange with it was answered: nobody else tells
 *   it (the others list it under the name, and pass this host's record on to nobody).
 *
 * The transport is a function, so the same code runs over HTTP in a host and in memory in the
 * simulation (scripts/bench/gossip_sim.ts).
 */
import { PagletError } from "../../agents/errors.ts";
import type { MemberRecord, MembershipTable } from "./membership.ts";
import type { GossipRequest, GossipResponse } from "./protocol.ts";
import { cancel, every, type Timer } from "../../agents/timers.ts";

/**
 * How long gossip takes to spread a heartbeat through a mesh of `members` hosts: about
 * `1 + log(N) / log(2 × fanout + 1)` rounds (each host talks to about `2 × fanout` others per
 * round, half of them calling in); the simulation measured the stalest heartbeat any host held at
 * 3.9 s for N = 100 and 4.9 s for N = 500 with 1 s rounds and fanout 2. A heartbeat older than this
 * is late: the host is asked directly, and its refused connection makes it offline at once.
 */
export function heartbeatLateMs(members: number, intervalMs: number, fanout: number): number {
  const spread = Math.log(Math.max(2, members)) / Math.log(2 * fanout + 1);
  return Math.ceil(intervalMs * (1 + spread));
}

/**
 * The smallest sensible offline threshold for a mesh of `members` hosts: the spread time of a
 * heartbeat ({@link heartbeatLateMs}) plus two rounds of margin.
 */
export function offlineFloorMs(members: number, intervalMs: number, fanout: number): number {
  return heartbeatLateMs(members, intervalMs, fanout) + Math.ceil(2 * intervalMs);
}

/**
 * The error a {@link GossipTransport} throws when a host's connection was refused: nothing listens
 * at its address, its process is gone (a host that is slow to answer times out instead).
 */
export function connectionRefused(url: string, detail: string): PagletError {
  return new PagletError("host_unreachable", `Gossip with ${url} failed: ${detail}`, {
    connection: "refused",
  });
}

function isConnectionRefused(error: PagletError): boolean {
  return (error.details as { connection?: unknown } | undefined)?.connection === "refused";
}

/** Sends one gossip request to a host's base URL and returns its answer (throws on failure). */
export type GossipTransport = (
  url: string,
  request: GossipRequest,
  timeoutMs: number,
) => Promise<GossipResponse>;

export interface GossipOptions {
  /** Seed URLs (normalised) to join through. @default [] */
  seeds?: string[];
  /** Random online peers contacted per round. @default 2 */
  fanout?: number;
  /** Milliseconds between rounds. @default 1000 */
  intervalMs?: number;
  /** Timeout of one exchange. @default max(1000, 2 × intervalMs) */
  requestTimeoutMs?: number;
  /** Longest pause, in rounds, between attempts to reach a silent seed. @default 8 */
  maxSeedBackoffRounds?: number;
  /** Random numbers in [0, 1) (the simulation seeds its own). @default Math.random */
  random?: () => number;
  /** Told about failed exchanges (peer URL, error). */
  onError?: (url: string, error: PagletError) => void;
  /** Told once per seed that never answered when its {@link SEED_WARN_AFTER}th try failed. */
  onSeedSilent?: (url: string, tries: number, error: PagletError) => void;
  /** Told once per seed that turned out to be this host itself (another address of it); it is dropped. */
  onSelfSeed?: (url: string) => void;
}

/** Failed tries of a seed that never answered after which it is reported (rounds 1, 2 and 4). */
export const SEED_WARN_AFTER = 3;

/** Counters of the traffic a node caused, for the simulation and metrics. */
export interface GossipStats {
  rounds: number;
  requests: number;
  pushes: number;
  failures: number;
  recordsSent: number;
  heartbeatsSent: number;
}

interface SeedState {
  failures: number;
  nextRound: number;
  /** It answered once: this host got into the mesh through it. */
  answered: boolean;
}

export class GossipNode {
  readonly table: MembershipTable;
  readonly stats: GossipStats = {
    rounds: 0,
    requests: 0,
    pushes: 0,
    failures: 0,
    recordsSent: 0,
    heartbeatsSent: 0,
  };
  readonly #transport: GossipTransport;
  readonly #seeds = new Map<string, SeedState>();
  readonly #fanout: number;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #maxBackoff: number;
  readonly #random: () => number;
  readonly #onError: (url: string, error: PagletError) => void;
  readonly #onSeedSilent: NonNullable<GossipOptions["onSeedSilent"]>;
  readonly #onSelfSeed: (url: string) => void;
  readonly #inFlight = new Set<string>();
  /** `url incarnation` of the host that took this host's name, once an exchange with it was answered. */
  #toldDisplacer = "";
  #timer?: Timer;

  constructor(table: MembershipTable, transport: GossipTransport, options: GossipOptions = {}) {
    const {
      seeds = [],
      fanout = 2,
      intervalMs = 1000,
      requestTimeoutMs = Math.max(1000, 2 * intervalMs),
      maxSeedBackoffRounds = 8,
      random = Math.random,
      onError = () => {},
      onSeedSilent = () => {},
      onSelfSeed = () => {},
    } = options;
    if (!Number.isInteger(fanout) || fanout < 1) {
      throw new RangeError(
        `Cannot gossip as 'fanout' must be a positive integer: current value is ${fanout}`,
      );
    }
    if (!(intervalMs > 0)) {
      throw new RangeError(`Cannot gossip as 'intervalMs' must be positive: current value is ${intervalMs}`);
    }
    this.table = table;
    this.#transport = transport;
    this.#fanout = fanout;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = requestTimeoutMs;
    this.#maxBackoff = maxSeedBackoffRounds;
    this.#random = random;
    this.#onError = onError;
    this.#onSeedSilent = onSeedSilent;
    this.#onSelfSeed = onSelfSeed;
    for (const seed of seeds) this.addSeed(seed);
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Adds a URL to join through (ignored when it is this host). */
  addSeed(url: string): void {
    if (url !== this.table.selfUrl && !this.#seeds.has(url)) {
      this.#seeds.set(url, { failures: 0, nextRound: 0, answered: false });
    }
  }

  /** Starts rounds every `intervalMs`, the first one now. */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.round();
    this.#timer = every(this.#intervalMs, () => void this.round());
  }

  /** Stops the rounds (exchanges under way finish or time out on their own). */
  stop(): void {
    cancel(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One round: heartbeat, exchanges with this round's targets, then a sweep for members that
   * went silent. Resolves when every exchange of the round has finished.
   */
  async round(): Promise<void> {
    this.stats.rounds++;
    this.table.beat();
    this.table.sweep();
    const targets = this.selectTargets();
    await Promise.all(targets.map((url) => this.exchange(url)));
    this.table.sweep();
  }

  /** The base URLs this round talks to. */
  selectTargets(): string[] {
    const { online, offline, late } = this.table.peerUrls();
    const targets = new Set<string>(this.#pick(online, this.#fanout));
    for (const url of this.#pick(late, this.#fanout)) targets.add(url);
    if (offline.length > 0 && this.#random() < Math.min(1, 2 / Math.max(1, online.length))) {
      targets.add(offline[Math.floor(this.#random() * offline.length)]);
    }
    const onlineUrls = new Set(online);
    for (const [url, seed] of this.#seeds) {
      if (onlineUrls.has(url)) {
        seed.failures = 0;
        seed.nextRound = 0;
      } else if (seed.answered && online.length > 0) {
        // It let us in (perhaps under another URL than the one it publishes); gossip covers it now.
      } else if (this.stats.rounds >= seed.nextRound) {
        targets.add(url);
      }
    }
    const displacer = this.table.displacedBy;
    if (displacer && this.#toldDisplacer !== `${displacer.url} ${displacer.incarnation}`) {
      targets.add(displacer.url);
    }
    targets.delete(this.table.selfUrl);
    return [...targets];
  }

  /** A push-pull exchange with one host; failures are counted and reported, never thrown. */
  async exchange(url: string): Promise<boolean> {
    if (this.#inFlight.has(url)) return false;
    this.#inFlight.add(url);
    try {
      this.stats.requests++;
      const answer = await this.#transport(
        url,
        this.#request(this.table.digest(), [this.table.selfRecord()]),
        this.#timeoutMs,
      );
      if (answer.from?.name === this.table.selfName && answer.from.incarnation === this.table.incarnation) {
        // This host itself, through another address of its own: no exchange with another host.
        this.stats.failures++;
        if (this.#seeds.delete(url)) this.#onSelfSeed(url);
        return false;
      }
      this.#seedAnswered(url);
      const displacer = this.table.displacedBy;
      if (displacer?.url === url) this.#toldDisplacer = `${url} ${displacer.incarnation}`;
      this.table.markRefused(url, false);
      this.table.markAnswered(url, true);
      if (answer.meshVersion !== this.table.meshVersion) {
        throw new PagletError(
          "mesh_version_mismatch",
          `${url} runs mesh version '${answer.meshVersion}', this host '${this.table.meshVersion}'`,
        );
      }
      for (const record of answer.records) this.table.mergeRecord(record);
      for (const entry of answer.heartbeats) this.table.mergeHeartbeat(entry);
      if (answer.wants.length > 0) await this.push(url, this.table.records(answer.wants));
      return true;
    } catch (err) {
      this.stats.failures++;
      const error = PagletError.from(err, "host_unreachable");
      this.#seedFailed(url, error);
      if (error.code === "unauthorized") this.table.markRefused(url, true);
      else if (error.code === "host_unreachable" || error.code === "timeout") {
        if (isConnectionRefused(error)) this.table.markConnectionRefused(url);
        this.table.markAnswered(url, false);
      }
      this.#onError(url, error);
      return false;
    } finally {
      this.#inFlight.delete(url);
    }
  }

  /** Sends records without a digest (no answer expected beyond an acknowledgement). */
  async push(url: string, records: MemberRecord[]): Promise<void> {
    this.stats.pushes++;
    this.stats.recordsSent += records.length;
    await this.#transport(url, this.#request(undefined, records), this.#timeoutMs);
  }

  /** Handles an incoming request; a request from another mesh version is refused with 409. */
  handle(request: GossipRequest): GossipResponse {
    const { selfName: name, selfUrl: url, incarnation } = this.table;
    const empty = {
      meshVersion: this.table.meshVersion,
      from: { name, url, incarnation },
      records: [],
      heartbeats: [],
      wants: [],
    };
    if (request.meshVersion !== this.table.meshVersion) {
      throw new PagletError(
        "mesh_version_mismatch",
        `Host ${this.table.selfName} runs mesh version '${this.table.meshVersion}'; ${request.from.name} at ${request.from.url} ` +
          `runs '${request.meshVersion}'. Hosts of different mesh versions never mix: start both with the same --mesh-version.`,
        { meshVersion: this.table.meshVersion },
      );
    }
    for (const record of request.records ?? []) this.table.mergeRecord(record);
    if (!request.digest) return empty;
    const answer = this.table.reconcile(request.digest);
    this.stats.recordsSent += answer.records.length;
    this.stats.heartbeatsSent += answer.heartbeats.length;
    return { ...empty, ...answer };
  }

  /**
   * Leaves cleanly: publishes the final "left" heartbeat to a few online peers so the mesh marks
   * this host offline at once instead of after `offlineAfterMs`.
   */
  async leave(): Promise<void> {
    this.stop();
    this.table.leave();
    const { online } = this.table.peerUrls();
    const record = this.table.selfRecord();
    await Promise.all(
      // A peer this push misses gets the record at a later gossip round.
      this.#pick(online, this.#fanout + 1).map((url) => this.push(url, [record]).catch(() => {})),
    );
  }

  #request(digest: GossipRequest["digest"], records: MemberRecord[]): GossipRequest {
    return {
      meshVersion: this.table.meshVersion,
      from: { name: this.table.selfName, url: this.table.selfUrl },
      digest,
      records,
    };
  }

  #pick<T>(items: T[], n: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < n && pool.length > 0) {
      const i = Math.floor(this.#random() * pool.length);
      out.push(pool[i]);
      pool[i] = pool[pool.length - 1];
      pool.pop();
    }
    return out;
  }

  #seedAnswered(url: string): void {
    const seed = this.#seeds.get(url);
    if (seed) {
      seed.failures = 0;
      seed.nextRound = 0;
      seed.answered = true;
    }
  }

  #seedFailed(url: string, error: PagletError): void {
    const seed = this.#seeds.get(url);
    if (!seed) return;
    seed.failures++;
    seed.nextRound = this.stats.rounds + Math.min(this.#maxBackoff, 2 ** (seed.failures - 1));
    if (!seed.answered && seed.failures === SEED_WARN_AFTER) this.#onSeedSilent(url, seed.failures, error);
  }
}

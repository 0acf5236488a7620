/**
 * The membership table of one host: who is in the mesh, whose information is newest, who is online.
 *
 * Each member is known by name. Its metadata (url, tags, properties, cpu count) is fixed for the
 * life of one process, its **incarnation**; a restarted host has a higher incarnation and
 * supersedes its old record. Within an incarnation the owner increments a **heartbeat** counter
 * every gossip round. Newer means a higher `(incarnation, heartbeat)` pair, so merging is
 * order-independent and idempotent.
 *
 * A member is online while its heartbeat keeps increasing: every copy of a heartbeat carries its
 * age (how long ago the first host that passed it on saw it increase), so the receiver can date
 * the heartbeat close to when it was produced, however many hops it travelled. A heartbeat that
 * has not increased for `offlineAfterMs` means the host is dead or cut off. Nobody probes anybody
 * to decide this; but when this host's own exchange with a member whose heartbeat is late (older
 * than gossip needs to spread it) found its connection refused, nothing listens at its address any
 * more: it is offline at once, without waiting for the threshold. A member that merely answers
 * slowly (an exchange timed out) is not offline before its heartbeat stops for `offlineAfterMs`.
 *
 * @example
 * ```ts
 * const table = new MembershipTable({
 *   self: { name: "a", url: "http://127.0.0.1:8001", meshVersion: "dev", tags: [], properties: {}, cpuCount: 4 },
 *   incarnation: Date.now(),
 * });
 * table.beat();
 * console.log(table.digest()); // [["a", <incarnation>, 1, 0]]
 * ```
 */
import type { HostInfo, MeshHost } from "../../agents/context.ts";

/** The heartbeat a host publishes when it stops cleanly: higher than any real one, and means "left". */
export const LEFT_HEARTBEAT = Number.MAX_SAFE_INTEGER;

/**
 * What a host says about itself to the mesh (what its paglets see as `HostInfo`, and its id:
 * host_id.ts, absent from hosts that predate it); fixed for one incarnation.
 */
export type HostIdentity = HostInfo & { hostId?: string };

/** A member record as it travels in gossip. */
export interface MemberRecord extends HostIdentity {
  incarnation: number;
  heartbeat: number;
  /** Milliseconds since the sender saw this heartbeat increase (0 for the sender itself). */
  ageMs: number;
}

/** The compact per-member entry of a digest: `[name, incarnation, heartbeat, ageMs]`. */
export type DigestEntry = [name: string, incarnation: number, heartbeat: number, ageMs: number];

/** A member as `GET /v1/mesh/hosts` and `context.hosts()` show it. */
export interface MemberView extends MeshHost {
  /** Its host id (host_id.ts); absent for hosts that do not say. */
  hostId?: string;
  incarnation: number;
  heartbeat: number;
  /** This host itself. */
  self: boolean;
  /** The host announced that it stopped cleanly, and is not known to be back (see `state`). */
  left: boolean;
  /**
   * What this host can do with the member: `online`, `offline`, `left`, `unauthorized` when its
   * last answer to this host was 401 (the two hosts hold different API keys), or `unreachable` when
   * it is alive (its heartbeats reach this host through others) but this host's own last
   * {@link UNREACHABLE_AFTER} exchanges with it, over at least the offline threshold, got no answer
   * (a partition one way only). Neither
   * an unauthorized nor an unreachable member is online: every call to it would fail, so placement
   * and routing skip it. A member that left and then answers 401 (where calls to it succeeded
   * before) runs again under another key. `displaced` is only ever this host's own state: another
   * host, started later, holds its name ({@link MembershipTable.displacedBy}); the mesh lists that
   * one under the name, while this host runs on (online here) for its own agents.
   */
  state: MemberState;
}

/** See {@link MemberView.state}. */
export type MemberState = "online" | "offline" | "left" | "unauthorized" | "unreachable" | "displaced";

/** Exchanges in a row that got no answer after which a member whose heartbeat goes on is unreachable. */
export const UNREACHABLE_AFTER = 3;

/** What changed about a member, as reported to {@link MembershipOptions.onChange}. */
export type MembershipChange =
  | "joined"
  | "restarted"
  | "online"
  | "offline"
  | "forgotten"
  | "rejected"
  | "unauthorized"
  | "unreachable"
  /** Another live host uses this host's name: `member` is that host (see {@link MembershipTable.displacedBy}). */
  | "name-conflict";

export interface MembershipOptions {
  /** This host. */
  self: HostIdentity;
  /** This process's incarnation; must grow across restarts (see `nextIncarnation`). */
  incarnation: number;
  /** A member whose heartbeat has not increased for this long is offline. @default 5000 */
  offlineAfterMs?: number;
  /**
   * The smallest offline threshold for a table of `members` hosts: gossip needs more rounds to
   * spread a heartbeat through a bigger mesh, so the threshold grows with it. @default none
   */
  minOfflineAfterMs?: (members: number) => number;
  /**
   * How old a member's heartbeat may grow, in a table of `members` hosts, before it is late (gossip
   * spreads a heartbeat within this). A late member whose connection this host found refused since
   * its last heartbeat is offline at once. @default none (a heartbeat is late only once its member
   * is offline: a refusal changes nothing)
   */
  heartbeatLateMs?: (members: number) => number;
  /** A member offline for this long is dropped from the table. @default 86_400_000 (one day) */
  forgetAfterMs?: number;
  /** The clock (tests and the simulation use a virtual one). @default Date.now */
  now?: () => number;
  /** Called when a member joins, restarts, goes on- or offline, is forgotten, or a record is rejected. */
  onChange?: (change: MembershipChange, member: MemberView, detail?: string) => void;
}

/** The result of comparing a peer's digest with this table. */
export interface Reconciliation {
  /** Full records the peer lacks or holds an older incarnation of. */
  records: MemberRecord[];
  /** Newer heartbeats of members the peer already has in the same incarnation. */
  heartbeats: DigestEntry[];
  /** Names of members the peer has newer incarnations of (or this table lacks). */
  wants: string[];
}

interface Member {
  identity: HostIdentity;
  incarnation: number;
  heartbeat: number;
  /** Local clock time this member's heartbeat was (estimated to be) last produced. */
  progressAt: number;
  /** The online state last reported through onChange. */
  reportedOnline: boolean;
  /** Its last answer to this host was 401: the API keys differ. */
  refused: boolean;
  /**
   * It said it left, then refused a call that it did not refuse before: it runs again under
   * another key and cannot tell this host its new record (its gossip is refused here), so the
   * refusal is its state.
   */
  refusedSinceLeft: boolean;
  /** This host's exchanges with it in a row that got no answer (0 after one that did). */
  unanswered: number;
  /** When the first of those went unanswered. */
  unansweredSince: number;
  /** When this host's latest exchange with it found its connection refused (0: none since one was answered). */
  connectionRefusedAt: number;
  /**
   * A heartbeat produced after such a refusal reached this host: the host is alive and refuses only
   * this host's connections (a firewall), which {@link UNREACHABLE_AFTER} judges, not a refusal.
   */
  refusesOnlyThisHost: boolean;
}

export class MembershipTable {
  readonly #members = new Map<string, Member>();
  /** URLs members published before they came back at another one: old URL → name. */
  readonly #formerUrls = new Map<string, string>();
  /** Records already reported as rejected or as a name conflict: each is reported once. */
  readonly #reported = new Set<string>();
  /** The host, started later, that holds this host's name in the mesh; null while none does. */
  #displacedBy: { url: string; incarnation: number } | null = null;
  readonly #self: Member;
  readonly #offlineAfterMs: number;
  readonly #minOfflineAfterMs: (members: number) => number;
  readonly #heartbeatLateMs: (members: number) => number;
  #threshold = { size: -1, ms: 0, lateMs: 0 };
  readonly #forgetAfterMs: number;
  readonly #now: () => number;
  readonly #onChange: NonNullable<MembershipOptions["onChange"]>;

  constructor(options: MembershipOptions) {
    const {
      self,
      incarnation,
      offlineAfterMs = 5000,
      minOfflineAfterMs = () => 0,
      heartbeatLateMs = () => Infinity,
      forgetAfterMs = 86_400_000,
      now = Date.now,
      onChange = () => {},
    } = options;
    if (!Number.isSafeInteger(incarnation) || incarnation < 0) {
      throw new RangeError(
        `Cannot build a membership table as 'incarnation' must be a safe integer >= 0: current value is ${incarnation}`,
      );
    }
    if (!(offlineAfterMs > 0)) {
      throw new RangeError(
        `Cannot build a membership table as 'offlineAfterMs' must be positive: current value is ${offlineAfterMs}`,
      );
    }
    this.#offlineAfterMs = offlineAfterMs;
    this.#minOfflineAfterMs = minOfflineAfterMs;
    this.#heartbeatLateMs = heartbeatLateMs;
    this.#forgetAfterMs = Math.max(forgetAfterMs, offlineAfterMs);
    this.#now = now;
    this.#onChange = onChange;
    this.#self = {
      identity: { ...self },
      incarnation,
      heartbeat: 0,
      progressAt: now(),
      reportedOnline: true,
      refused: false,
      refusedSinceLeft: false,
      unanswered: 0,
      unansweredSince: 0,
      connectionRefusedAt: 0,
      refusesOnlyThisHost: false,
    };
    this.#members.set(self.name, this.#self);
  }

  get selfName(): string {
    return this.#self.identity.name;
  }

  get selfUrl(): string {
    return this.#self.identity.url;
  }

  get meshVersion(): string {
    return this.#self.identity.meshVersion;
  }

  get incarnation(): number {
    return this.#self.incarnation;
  }

  /**
   * The live host with this host's name and a higher incarnation (started later) that the mesh
   * lists under the name instead of this one, until it leaves (then this host takes the name back);
   * null while this host holds its name.
   */
  get displacedBy(): { url: string; incarnation: number } | null {
    return this.#displacedBy && { ...this.#displacedBy };
  }

  /** The offline threshold in force: the configured one, or more for a big mesh. */
  get offlineAfterMs(): number {
    return this.#thresholds().ms;
  }

  /** The age from which a member's heartbeat is late (see {@link MembershipOptions.heartbeatLateMs}). */
  get heartbeatLateMs(): number {
    return this.#thresholds().lateMs;
  }

  #thresholds(): { ms: number; lateMs: number } {
    const size = this.#members.size;
    if (this.#threshold.size !== size) {
      const ms = Math.max(this.#offlineAfterMs, this.#minOfflineAfterMs(size));
      this.#threshold = { size, ms, lateMs: Math.min(ms, this.#heartbeatLateMs(size)) };
    }
    return this.#threshold;
  }

  /** Number of members, this host included. */
  get size(): number {
    return this.#members.size;
  }

  /** Advances this host's heartbeat (once per gossip round). */
  beat(): void {
    if (this.#self.heartbeat !== LEFT_HEARTBEAT) this.#self.heartbeat++;
    this.#self.progressAt = this.#now();
  }

  /** Marks this host as leaving: its last heartbeat tells everyone it stopped on purpose. */
  leave(): void {
    this.#self.heartbeat = LEFT_HEARTBEAT;
    this.#self.progressAt = this.#now();
  }

  /** This host's own record, as sent with every gossip request. */
  selfRecord(): MemberRecord {
    return this.#wire(this.#self);
  }

  /** `[name, incarnation, heartbeat, ageMs]` for every member worth telling about. */
  digest(): DigestEntry[] {
    const out: DigestEntry[] = [];
    for (const m of this.#members.values()) {
      if (this.#worthSending(m)) out.push([m.identity.name, m.incarnation, m.heartbeat, this.#age(m)]);
    }
    return out;
  }

  /** Full records of the named members (unknown names are skipped). */
  records(names: Iterable<string>): MemberRecord[] {
    const out: MemberRecord[] = [];
    for (const name of names) {
      const m = this.#members.get(name);
      if (m && this.#worthSending(m)) out.push(this.#wire(m));
    }
    return out;
  }

  /**
   * Compares a peer's digest with this table: merges the peer's newer heartbeats, and returns
   * what the peer lacks and what this table wants from it.
   */
  reconcile(peerDigest: readonly DigestEntry[]): Reconciliation {
    const records: MemberRecord[] = [];
    const heartbeats: DigestEntry[] = [];
    const wants: string[] = [];
    const seen = new Set<string>();
    for (const entry of peerDigest) {
      const [name, incarnation, heartbeat] = entry;
      if (seen.has(name)) continue;
      seen.add(name);
      const mine = this.#members.get(name);
      if (!mine || mine.incarnation < incarnation) {
        if (mine !== this.#self) wants.push(name);
      } else if (mine.incarnation > incarnation) {
        if (this.#worthSending(mine)) records.push(this.#wire(mine));
      } else if (heartbeat > mine.heartbeat) {
        this.mergeHeartbeat(entry);
      } else if (heartbeat < mine.heartbeat && this.#worthSending(mine)) {
        heartbeats.push([name, mine.incarnation, mine.heartbeat, this.#age(mine)]);
      }
    }
    for (const m of this.#members.values()) {
      if (!seen.has(m.identity.name) && this.#worthSending(m)) records.push(this.#wire(m));
    }
    return { records, heartbeats, wants };
  }

  /** Merges a full record; true when it changed the table. Records of another mesh version are refused. */
  mergeRecord(record: MemberRecord): boolean {
    const { name } = record;
    if (record.meshVersion !== this.meshVersion) {
      this.#reportOnce(
        "rejected",
        record,
        `mesh version '${record.meshVersion}' is not '${this.meshVersion}'`,
      );
      return false;
    }
    if (name === this.selfName) return this.#mergeOwnName(record);
    const ageMs = Math.max(0, record.ageMs);
    if (ageMs >= this.#forgetAfterMs) return false;
    const mine = this.#members.get(name);
    const progressAt = this.#now() - ageMs;
    if (!mine || record.incarnation > mine.incarnation) {
      // Back at another address (a new port, a new IP): forwarding records still name the old one.
      if (mine && mine.identity.url !== record.url) this.#formerUrls.set(mine.identity.url, name);
      const member: Member = {
        identity: identityOf(record),
        incarnation: record.incarnation,
        heartbeat: record.heartbeat,
        progressAt,
        reportedOnline: false,
        // A restart keeps a refusal until a call to it succeeds: its key did not change by itself.
        refused: mine !== undefined && mine.refused && mine.identity.url === record.url,
        refusedSinceLeft: false,
        unanswered: 0,
        unansweredSince: 0,
        connectionRefusedAt: 0,
        refusesOnlyThisHost: false,
      };
      this.#members.set(name, member);
      this.#onChange(mine ? "restarted" : "joined", this.#view(member));
      this.#report(member);
      return true;
    }
    if (record.incarnation === mine.incarnation && record.heartbeat > mine.heartbeat) {
      return this.mergeHeartbeat([name, record.incarnation, record.heartbeat, ageMs]);
    }
    return false;
  }

  /**
   * A record with this host's name. At this host's URL it is this host's own past (or itself)
   * and ignored. Elsewhere it is another host with the same name: the one started later (the higher
   * incarnation) holds the name in the mesh, and both say so once. A record of a host started
   * earlier comes only from that host itself (nobody else keeps it: they list this one), so it is
   * alive. When the host that took the name says it left, this one takes the name back.
   */
  #mergeOwnName(record: MemberRecord): boolean {
    if (record.url === this.selfUrl || record.incarnation === this.incarnation) return false;
    const left = record.heartbeat === LEFT_HEARTBEAT;
    if (record.incarnation > this.incarnation) {
      if (left && this.#self.heartbeat !== LEFT_HEARTBEAT) {
        // The host that took this name has stopped: this one takes it back, with an incarnation
        // above the one that left, so that the others list it again.
        this.#self.incarnation = record.incarnation + 1;
        this.#self.heartbeat = 0;
        this.#self.progressAt = this.#now();
        this.#displacedBy = null;
        this.#onChange("restarted", this.#view(this.#self));
        return true;
      }
      if (left) return false;
      if (!this.#displacedBy || record.incarnation > this.#displacedBy.incarnation) {
        this.#displacedBy = { url: record.url, incarnation: record.incarnation };
      }
      this.#reportOnce(
        "name-conflict",
        record,
        `the host at ${record.url}, started later, took this host's name '${record.name}': ` +
          "the mesh lists that host under it, and no longer this one",
      );
    } else if (!left && record.ageMs < this.offlineAfterMs) {
      this.#reportOnce(
        "name-conflict",
        record,
        `the host at ${record.url}, started earlier, uses this host's name '${record.name}': ` +
          "the mesh lists this host under it, and no longer that one",
      );
    }
    return false;
  }

  /**
   * Reports a record once: gossip brings the same record every round, and a report per round would
   * flood the event log (a name clash lasts as long as both hosts run).
   */
  #reportOnce(change: "rejected" | "name-conflict", record: MemberRecord, detail: string): void {
    const key = `${change}\n${record.name}\n${record.url}\n${record.incarnation}\n${record.meshVersion}`;
    if (this.#reported.has(key)) return;
    if (this.#reported.size >= 1000) this.#reported.clear();
    this.#reported.add(key);
    this.#onChange(change, this.#viewOfRecord(record), detail);
  }

  /** Merges a heartbeat of a member already known in that incarnation; true when it advanced. */
  mergeHeartbeat([name, incarnation, heartbeat, ageMs]: DigestEntry): boolean {
    const mine = this.#members.get(name);
    if (!mine || mine === this.#self || mine.incarnation !== incarnation || heartbeat <= mine.heartbeat) {
      return false;
    }
    mine.heartbeat = heartbeat;
    mine.progressAt = Math.max(mine.progressAt, this.#now() - Math.max(0, ageMs));
    if (mine.connectionRefusedAt > 0 && mine.progressAt > mine.connectionRefusedAt) {
      mine.refusesOnlyThisHost = true;
    }
    this.#report(mine);
    return true;
  }

  /** Reports members that went offline since the last sweep and forgets long-gone ones. */
  sweep(): void {
    const now = this.#now();
    for (const m of [...this.#members.values()]) {
      if (m === this.#self) continue;
      if (now - m.progressAt >= this.#forgetAfterMs) {
        this.#members.delete(m.identity.name);
        this.#onChange("forgotten", this.#view(m));
        continue;
      }
      this.#report(m);
    }
  }

  /**
   * Records whether the member at `url` refused this host's API key (401) on the last call: a
   * refusing member is `unauthorized`, not online, until a call to it succeeds again. A member that
   * said it left and then refuses a call it did not refuse before is back: `unauthorized`, not `left`.
   */
  markRefused(url: string, refused: boolean): void {
    for (const m of this.#members.values()) {
      if (m === this.#self || m.identity.url !== url) continue;
      const before = this.#state(m);
      // One that refused before it left reaches this host (its leave did), so its return comes as
      // a new record; a 401 after its leave is from its last moments (a stopping host answers
      // until it closes).
      m.refusedSinceLeft = refused && m.heartbeat === LEFT_HEARTBEAT && (m.refusedSinceLeft || !m.refused);
      m.refused = refused;
      if (before !== "unauthorized" && this.#state(m) === "unauthorized") {
        this.#onChange("unauthorized", this.#view(m));
      }
      this.#report(m);
    }
  }

  /**
   * Records whether this host's exchange with the member at `url` got an answer. After
   * {@link UNREACHABLE_AFTER} in a row without one, over at least the offline threshold, a member
   * whose heartbeat still goes on (others hear it) is `unreachable` from here until an exchange
   * gets an answer again.
   */
  markAnswered(url: string, answered: boolean): void {
    for (const m of this.#members.values()) {
      if (m === this.#self || m.identity.url !== url) continue;
      // Calls that went unanswered while its heartbeat had stopped (a host hung or down) say nothing
      // of a path to it: once it moves again, only calls that fail from then on count (a host that
      // resumes is not `unreachable` until this host's next exchange with it).
      if (!answered && !this.#alive(m)) {
        m.unanswered = 0;
        continue;
      }
      if (!answered && m.unanswered === 0) m.unansweredSince = this.#now();
      m.unanswered = answered ? 0 : m.unanswered + 1;
      if (answered) {
        m.connectionRefusedAt = 0;
        m.refusesOnlyThisHost = false;
      }
      this.#report(m);
    }
  }

  /**
   * Records that this host's exchange with the member at `url` found its connection refused: nothing
   * listens at its address. Once its heartbeat is late (and none produced since reached this host),
   * it is offline, without waiting for the offline threshold; a heartbeat produced after the refusal
   * says it lives on (it refuses only this host, see {@link markAnswered}).
   */
  markConnectionRefused(url: string): void {
    for (const m of this.#members.values()) {
      if (m === this.#self || m.identity.url !== url) continue;
      m.connectionRefusedAt = this.#now();
      this.#report(m);
    }
  }

  /** Is this member online now? */
  isOnline(name: string): boolean {
    const m = this.#members.get(name);
    return m ? this.#online(m) : false;
  }

  /** The member with this name. */
  byName(name: string): MemberView | undefined {
    const m = this.#members.get(name);
    return m && this.#view(m);
  }

  /**
   * The member with this host id (host_id.ts): the newest incarnation if several (a host renamed
   * leaves its old name's record behind).
   */
  byId(hostId: string): MemberView | undefined {
    let best: Member | undefined;
    for (const m of this.#members.values()) {
      if (m.identity.hostId === hostId && (!best || m.incarnation > best.incarnation)) best = m;
    }
    return best && this.#view(best);
  }

  /**
   * Where the host once published at `url` is now: `url` itself while a member is there, else the
   * current URL of the member that left it for another address (known since this host started),
   * else null.
   */
  currentUrl(url: string): string | null {
    if (this.byUrl(url)) return url;
    const name = this.#formerUrls.get(url);
    return name === undefined ? null : this.byName(name)?.url ?? null;
  }

  /** The member published at this (normalised) URL; the newest incarnation if several. */
  byUrl(url: string): MemberView | undefined {
    let best: Member | undefined;
    for (const m of this.#members.values()) {
      if (m.identity.url === url && (!best || m.incarnation > best.incarnation)) best = m;
    }
    return best && this.#view(best);
  }

  /** Every member, this host included, sorted by name. */
  list(options: { onlineOnly?: boolean } = {}): MemberView[] {
    const out: MemberView[] = [];
    for (const m of this.#members.values()) {
      const view = this.#view(m);
      if (!options.onlineOnly || view.online) out.push(view);
    }
    return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : a.url.localeCompare(b.url));
  }

  /**
   * URLs of the other members, split by online state (cheaper than {@link list} for every round);
   * `late`: the online ones whose heartbeat is late (a direct exchange tells whether they still listen).
   */
  peerUrls(): { online: string[]; offline: string[]; late: string[] } {
    const online: string[] = [];
    const offline: string[] = [];
    const late: string[] = [];
    const lateAt = this.#now() - this.heartbeatLateMs;
    for (const m of this.#members.values()) {
      if (m === this.#self) continue;
      if (!this.#online(m)) offline.push(m.identity.url);
      else {
        online.push(m.identity.url);
        if (m.progressAt <= lateAt) late.push(m.identity.url);
      }
    }
    return { online, offline, late };
  }

  #online(m: Member): boolean {
    if (m === this.#self) return m.heartbeat !== LEFT_HEARTBEAT;
    return this.#alive(m) && !m.refused && !this.#unreachable(m);
  }

  /**
   * This host's last {@link UNREACHABLE_AFTER} exchanges with it, over at least the offline
   * threshold, got no answer: not a host slow to answer for a moment, one this host cannot reach.
   */
  #unreachable(m: Member): boolean {
    return m.unanswered >= UNREACHABLE_AFTER && this.#now() - m.unansweredSince >= this.offlineAfterMs;
  }

  /**
   * Its heartbeat goes on, as this host hears it (directly or through others), and nothing says its
   * process is gone: a refused connection since its last heartbeat, once that heartbeat is late.
   */
  #alive(m: Member): boolean {
    const age = this.#now() - m.progressAt;
    if (m.heartbeat === LEFT_HEARTBEAT || age >= this.offlineAfterMs) return false;
    return !(m.connectionRefusedAt > m.progressAt && !m.refusesOnlyThisHost && age >= this.heartbeatLateMs);
  }

  #state(m: Member): MemberState {
    if (m.refusedSinceLeft) return "unauthorized";
    if (m.heartbeat === LEFT_HEARTBEAT) return "left";
    if (m === this.#self && this.#displacedBy) return "displaced";
    if (m.refused) return "unauthorized";
    if (this.#online(m)) return "online";
    return this.#alive(m) ? "unreachable" : "offline";
  }

  #report(m: Member): void {
    const online = this.#online(m);
    if (online === m.reportedOnline) return;
    m.reportedOnline = online;
    this.#onChange(
      online ? "online" : this.#state(m) === "unreachable" ? "unreachable" : "offline",
      this.#view(m),
    );
  }

  #age(m: Member): number {
    return m === this.#self ? 0 : Math.max(0, this.#now() - m.progressAt);
  }

  #worthSending(m: Member): boolean {
    return this.#age(m) < this.#forgetAfterMs;
  }

  #wire(m: Member): MemberRecord {
    return { ...m.identity, incarnation: m.incarnation, heartbeat: m.heartbeat, ageMs: this.#age(m) };
  }

  #view(m: Member): MemberView {
    return {
      ...m.identity,
      tags: [...m.identity.tags],
      properties: { ...m.identity.properties },
      online: this.#online(m),
      lastSeen: m === this.#self ? this.#now() : m.progressAt,
      incarnation: m.incarnation,
      heartbeat: m.heartbeat,
      self: m === this.#self,
      left: m.heartbeat === LEFT_HEARTBEAT && !m.refusedSinceLeft,
      state: this.#state(m),
    };
  }

  #viewOfRecord(record: MemberRecord): MemberView {
    return {
      ...identityOf(record),
      online: false,
      lastSeen: this.#now() - record.ageMs,
      incarnation: record.incarnation,
      heartbeat: record.heartbeat,
      self: false,
      left: record.heartbeat === LEFT_HEARTBEAT,
      state: record.heartbeat === LEFT_HEARTBEAT ? "left" : "offline",
    };
  }
}

function identityOf(r: HostIdentity): HostIdentity {
  return {
    name: r.name,
    url: r.url,
    meshVersion: r.meshVersion,
    tags: [...r.tags],
    properties: { ...r.properties },
    cpuCount: r.cpuCount,
    ...(r.version === undefined ? {} : { version: r.version }),
    ...(r.hostId === undefined ? {} : { hostId: r.hostId }),
  };
}

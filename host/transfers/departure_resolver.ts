/**
 * Settles departures whose target has not confirmed them (the target went away after it may have
 * stored the agent): it asks the target until the target itself answers, `stored` (the agent lives
 * there now) or `refused` (it never will; the agent lives on here).
 *
 * A target that answers `expired` (it does not know the transfer, and may have taken it and
 * forgotten it since: the source came back after the target's retention) will never say more: the
 * departure's row becomes `expired` (kept in the ledger: no later start asks or warns again), the
 * agent stays reserved (`moving`) here, and a `transfer-expired` event says so, once. It is
 * settled when the agent comes back here, or by hand (docs/mobility.md).
 *
 * It asks when the mesh sees the target again (the host joined, came back online or restarted,
 * perhaps renamed or at another address: `mesh-host-*` events naming it or its id) and otherwise on
 * a bounded backoff (1 s, doubling to 10 s), which is all a target outside the mesh gets. A target
 * seen again while it is still starting (it gossips before it serves) is asked again every 200 ms
 * until it answers, for up to 60 s. One settling question per transfer at a time: a reason to ask
 * that comes while one is under way has it asked once more if that one got no answer.
 *
 * @example
 * ```ts ignore
 * const resolver = new DepartureResolver({ host, ledger, sender, driving, settled });
 * resolver.start(); // at host start: departures a crash left unconfirmed
 * resolver.soon();  // a departure just ended unconfirmed
 * ```
 */
import { cancel, later, sleep, type Timer } from "../../agents/timers.ts";
import type { Host } from "../host.ts";
import { MESH_HOST_BACK } from "../kernel/events.ts";
import type { HostAddress } from "../storage/agent_store.ts";
import type { TransferLedger, TransferRow } from "./transfer_ledger.ts";
import type { TransferSender } from "./transfer_sender.ts";

/** The first pause of the backoff between rounds that left departures unsettled. */
const FIRST_DELAY_MS = 1000;
/** The longest pause of the backoff. */
const MAX_DELAY_MS = 10_000;
/** Between questions to a target that answers `starting`. */
const STARTING_PAUSE_MS = 200;
/** How long a target that answers `starting` is asked again before the backoff takes over. */
const STARTING_WAIT_MS = 60_000;

/**
 * What made the resolver ask: `retry` (the backoff, or a departure that just ended unconfirmed) or
 * the `mesh-host-*` event that saw the target again.
 */
export type SettleTrigger = "retry" | "mesh-host-joined" | "mesh-host-online" | "mesh-host-restarted";

/** What the resolver needs of the host and the dispatcher. */
export interface ResolverParts {
  host: Host;
  ledger: TransferLedger;
  sender: TransferSender;
  /** Transfers a call in this process is still driving: the resolver leaves them alone. */
  driving: ReadonlySet<string>;
  /** Acts on the target's final answer about the pending departure `row` (asked at `target`). */
  settled(row: TransferRow, verdict: "stored" | "refused", target: HostAddress): Promise<void>;
}

export class DepartureResolver {
  readonly #p: ResolverParts;
  #timer: Timer | undefined;
  #delayMs = FIRST_DELAY_MS;
  #stopped = false;
  /** False once a round found nothing pending, until a departure ends unconfirmed again. */
  #mayHavePending = true;
  /** Departures that ended unconfirmed ({@link soon}): a round's "nothing pending" counts only if none did meanwhile. */
  #unconfirmed = 0;
  /** Settling questions under way, by transfer id; `again`: a reason to ask once more. */
  readonly #asking = new Map<string, { again: SettleTrigger | null }>();
  #unsubscribe: (() => void) | undefined;

  constructor(parts: ResolverParts) {
    this.#p = parts;
  }

  /** Starts: a round now (departures a crash left unconfirmed), and a question whenever the mesh sees a target again. */
  start(): void {
    this.#unsubscribe = this.#p.host.events.subscribe((e) => {
      if (!MESH_HOST_BACK.has(e.kind)) return;
      const { name, url, hostId } = (e.data ?? {}) as { name?: unknown; url?: unknown; hostId?: unknown };
      if (typeof name === "string" && typeof url === "string") {
        this.#hostBack(e.kind as SettleTrigger, name, url, typeof hostId === "string" ? hostId : null);
      }
    });
    this.soon();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    cancel(this.#timer);
  }

  /** A departure ended unconfirmed (or its bookkeeping failed): a round after `delayMs`, the backoff from its start. */
  soon(delayMs = 0): void {
    this.#unconfirmed++;
    this.#mayHavePending = true;
    this.#delayMs = FIRST_DELAY_MS;
    this.#schedule(delayMs);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    cancel(this.#timer);
    this.#timer = later(delayMs, () => void this.#round(), { ref: false });
  }

  /** Asks about every pending departure; the backoff goes on while some stay unsettled. */
  async #round(): Promise<void> {
    const unconfirmed = this.#unconfirmed;
    let left: number;
    try {
      left = await this.#settleWhere(() => true, "retry");
    } catch {
      left = 1;
    }
    if (left === 0) {
      if (unconfirmed === this.#unconfirmed) this.#mayHavePending = false;
      this.#delayMs = FIRST_DELAY_MS;
      return;
    }
    this.#schedule(this.#delayMs);
    this.#delayMs = Math.min(this.#delayMs * 2, MAX_DELAY_MS);
  }

  /**
   * The mesh sees host `name` (of id `hostId`, where it says) at `url` (again): its pending
   * departures are asked about now, found by its id first (it may have come back renamed, at
   * another address), else by name or address.
   */
  #hostBack(trigger: SettleTrigger, name: string, url: string, hostId: string | null): void {
    if (this.#stopped || !this.#mayHavePending) return;
    const remote = this.#p.host.remote;
    const itsOwn = (row: TransferRow) =>
      (hostId !== null && row.peerId === hostId) || row.peerName === name || row.peer === url ||
      remote?.locate({ url: row.peer, name: row.peerName, id: row.peerId }) === url;
    // What gets no answer now is the backoff's: a failure here changes nothing it does.
    void this.#settleWhere(itsOwn, trigger).catch(() => {});
  }

  /** Settles the pending departures `which` picks, one after another; returns how many are left. */
  async #settleWhere(which: (row: TransferRow) => boolean, trigger: SettleTrigger): Promise<number> {
    let left = 0;
    for (const row of await this.#p.ledger.list("out", "pending")) {
      if (this.#stopped) return left + 1;
      if (!which(row) || this.#p.driving.has(row.transferId)) {
        left++;
        continue;
      }
      if (!(await this.#settle(row, trigger))) left++;
    }
    return left;
  }

  /**
   * Settles `row` unless a question about it is under way: that one is then asked once more if it
   * gets no answer. True once the departure is settled.
   */
  async #settle(row: TransferRow, trigger: SettleTrigger): Promise<boolean> {
    const under = this.#asking.get(row.transferId);
    if (under) {
      under.again = trigger;
      return false;
    }
    const asking = { again: null as SettleTrigger | null };
    this.#asking.set(row.transferId, asking);
    try {
      for (let why: SettleTrigger | null = trigger; why !== null; why = asking.again) {
        asking.again = null;
        if (await this.#settleOnce(row, why)) return true;
      }
      return false;
    } finally {
      this.#asking.delete(row.transferId);
    }
  }

  async #settleOnce(row: TransferRow, trigger: SettleTrigger): Promise<boolean> {
    const { ledger, driving, host } = this.#p;
    // Settled meanwhile (by the agent coming back here, or a round that listed it before).
    if ((await ledger.get(row.transferId))?.status !== "pending") return true;
    if (driving.has(row.transferId)) return false;
    const answer = await this.#ask(row);
    if (!answer) return false;
    if (answer.verdict === "expired") {
      // Settled meanwhile (the agent came back): nothing to say.
      if (!(await ledger.expireDeparture(row.transferId))) return true;
      const error = `${answer.target.name ?? answer.target.url} no longer knows transfer ${row.transferId} ` +
        `of ${row.agentId} (it forgets the transfers it took after its --forwarding-retention and clock margin) and may ` +
        `have taken it: the agent stays reserved (moving) here until it comes back or an operator ` +
        `settles the move (docs/mobility.md, "A move its target forgot")`;
      host.events.emit("transfer-expired", {
        agentId: row.agentId,
        data: { transferId: row.transferId, target: answer.target.url, departedAt: row.createdAt, trigger },
        error,
      });
      if (!host.options.quiet) console.error(`warning: ${error}`);
      return true;
    }
    await this.#p.settled(row, answer.verdict, answer.target);
    host.events.emit("transfer-settled", {
      agentId: row.agentId,
      data: { transferId: row.transferId, target: answer.target.url, outcome: answer.verdict, trigger },
    });
    return true;
  }

  /**
   * The target's final answer: asked wherever the mesh lists it now, by its id (it may have come
   * back renamed, at another address), else by its name, then at the address the move recorded;
   * only its own answer counts (TransferSender.settle): not that of a host that took its old
   * address, nor of another host of its name. A target that answers it is starting is asked again
   * until it answers.
   */
  async #ask(
    row: TransferRow,
  ): Promise<{ verdict: "stored" | "refused" | "expired"; target: HostAddress } | null> {
    const { host, sender } = this.#p;
    const peer = { url: row.peer, name: row.peerName, id: row.peerId };
    // The paglet that left, by when it was created (a clone's new id has no record here).
    const left = await host.store.get(row.agentId);
    const createdAt = left?.status === "moving" ? left.createdAt : undefined;
    const until = performance.now() + STARTING_WAIT_MS;
    for (;;) {
      let starting = false;
      for (const url of new Set([host.remote?.locate(peer) ?? row.peer, row.peer])) {
        const { verdict, name } = await sender.settle(
          { ...peer, url },
          row.transferId,
          row.agentId,
          host.url,
          row.createdAt,
          createdAt,
        );
        if (verdict === "stored" || verdict === "refused" || verdict === "expired") {
          // Under the name it answered with: a move recorded to it is followed by that name.
          return { verdict, target: { ...peer, url, name: name ?? peer.name } };
        }
        starting ||= verdict === "starting";
      }
      if (!starting || this.#stopped || performance.now() >= until) return null;
      await sleep(STARTING_PAUSE_MS);
    }
  }
}

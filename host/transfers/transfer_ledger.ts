/**
 * The transfer ledger: one row per transfer a host sent (`out`) or took (`in`), written in the
 * same SQLite transaction as the agent record it concerns. It is what makes a handoff exactly
 * once across crashes:
 *
 * - out `pending`: the source wrote the agent as `moving` and may have sent it; resolved by
 *   asking the target → `acknowledged` (record deleted, move recorded) or `failed` (restored), or
 *   `expired` when the target no longer knows it (and may have taken it): not asked about again,
 *   left to the agent coming back here or to an operator (docs/mobility.md).
 * - in `stored`: the target holds the agent durably but has not started it yet → `arrived`.
 * - in `refused`: the source gave the transfer up; a late copy of it is rejected.
 *
 * Settled rows are pruned after the retention plus the clock margin (forgotten_transfers.ts); the
 * ledger keeps how far it forgot arrivals ({@link TransferLedger.forgottenThrough}), so that it
 * never answers `refused` for a transfer it may have taken and forgotten.
 */
import type { SQLInputValue } from "node:sqlite";
import type { AgentRecord, AgentStore, HostAddress } from "../storage/agent_store.ts";
import type { QueuedEntry } from "./envelope.ts";
import type { InStatus, OutStatus, TransferDirection, TransfersTable } from "../storage/schema.ts";
import { immediate } from "../immediate.ts";
import { CLOCK_MARGIN_MS } from "./forgotten_transfers.ts";

export type { InStatus, OutStatus };

export interface TransferRow {
  transferId: string;
  agentId: string;
  direction: TransferDirection;
  status: OutStatus | InStatus;
  /** The other host's URL. */
  peer: string;
  /** The other host's name, as it answered the move's first question (null where not known). */
  peerName: string | null;
  /** The other host's id (host_id.ts), as it answered the move's first question (null where not known). */
  peerId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Departures whose target has not confirmed them: the agent is held `moving` here. */
const UNSETTLED_STATUSES: readonly (OutStatus | InStatus)[] = ["pending", "expired"];

function isUnsettled(row: TransferRow | undefined): boolean {
  return row?.direction === "out" && UNSETTLED_STATUSES.includes(row.status);
}

function toRow(r: TransfersTable): TransferRow {
  return {
    transferId: r.transfer_id,
    agentId: r.agent_id,
    direction: r.direction,
    status: r.status,
    peer: r.peer,
    peerName: r.peer_name,
    peerId: r.peer_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const COLUMNS = "transfer_id, agent_id, direction, status, peer, peer_name, peer_id, created_at, updated_at";
/** {@link UNSETTLED_STATUSES} as SQL. */
const UNSETTLED = `(${UNSETTLED_STATUSES.map((s) => `'${s}'`).join(", ")})`;
/** Rows of transfers that are over: what only answers late questions and retries. */
const SETTLED = "('acknowledged', 'failed', 'arrived', 'refused')";
/**
 * Settled rows no later question needs for long: a source's own finished departures, and the
 * refusals that turn away a copy still on its way. An arrival's row is what answers its source's
 * question about a move it could not confirm, however late: it lasts the whole retention.
 */
const CAPPED = "('acknowledged', 'failed', 'refused')";

/**
 * Rows of finished departures and refusals kept past their first day (about 150 bytes a row):
 * under a steady stream of moves they stay this many instead of holding the whole retention's.
 */
export const MAX_SETTLED_TRANSFERS = 200_000;
/** Rows younger than this are kept whatever their count: a retry or a late question comes sooner. */
const SETTLED_KEEP_MS = 86_400_000;
/** Rows deleted per statement: a large prune runs as short steps between which the host serves. */
const PRUNE_CHUNK = 5000;

/**
 * Statements on the ledger's one table, as SQL text: the handoff runs a few of them per hop, and
 * a typed builder per call costs more than SQLite running them. Rows are mapped by `toRow`
 * against `TransfersTable`. Agent records are written by the store, in the same transaction.
 */
const SQL = {
  get: `SELECT ${COLUMNS} FROM transfers WHERE transfer_id = ?`,
  insert: `INSERT INTO transfers (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertIfAbsent:
    `INSERT INTO transfers (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (transfer_id) DO NOTHING`,
  setStatus: "UPDATE transfers SET status = ?, updated_at = ? WHERE transfer_id = ?",
  list: `SELECT ${COLUMNS} FROM transfers WHERE direction = ? AND status = ? ORDER BY created_at`,
  unsettledOf:
    `SELECT ${COLUMNS} FROM transfers WHERE agent_id = ? AND direction = 'out' AND status IN ${UNSETTLED} ORDER BY created_at DESC, rowid DESC LIMIT 1`,
  expire:
    "UPDATE transfers SET status = 'expired', updated_at = ? WHERE transfer_id = ? AND status = 'pending'",
  /** The update time of the capped row `?` rows after the newest (none when there are fewer). */
  cappedBefore:
    // The partial index walks them in order (a sort of them all is what the planner picks else).
    `SELECT updated_at FROM transfers INDEXED BY transfers_capped WHERE status IN ${CAPPED}
      ORDER BY updated_at DESC LIMIT 1 OFFSET ?`,
  /** At most `?2` settled rows updated before `?1`. */
  prune: `DELETE FROM transfers WHERE transfer_id IN (
      SELECT transfer_id FROM transfers WHERE status IN ${SETTLED} AND updated_at < ?1 LIMIT ?2)`,
  /**
   * Raises how far arrivals were forgotten to the newest arrival's row a prune before `?` deletes
   * (written before the rows go: a prune cut short leaves it ahead of them, never behind).
   */
  forget: `INSERT INTO transfers_forgotten (id, through)
      SELECT 1, max(updated_at) FROM transfers
        WHERE status = 'arrived' AND direction = 'in' AND updated_at < ? HAVING max(updated_at) IS NOT NULL
      ON CONFLICT (id) DO UPDATE SET through = max(through, excluded.through)`,
  forgotten: "SELECT through FROM transfers_forgotten WHERE id = 1",
  /** At most `?2` capped rows updated before `?1`. */
  pruneCapped: `DELETE FROM transfers WHERE transfer_id IN (
      SELECT transfer_id FROM transfers WHERE status IN ${CAPPED} AND updated_at < ?1 LIMIT ?2)`,
} as const;

/** Options of {@link TransferLedger}. */
export interface TransferLedgerOptions {
  /**
   * How far a departure's time placed on this host's clock may be off (forgotten_transfers.ts):
   * settled rows are kept this much past the retention. @default CLOCK_MARGIN_MS
   */
  clockMarginMs?: number;
}

/** The ledger owns the `transfers` table; it writes its rows in the agent store's transactions. */
export class TransferLedger {
  readonly #store: AgentStore;
  readonly clockMarginMs: number;

  constructor(store: AgentStore, { clockMarginMs = CLOCK_MARGIN_MS }: TransferLedgerOptions = {}) {
    this.#store = store;
    this.clockMarginMs = clockMarginMs;
  }

  #rows(sql: string, ...parameters: SQLInputValue[]): TransferRow[] {
    return this.#store.select<TransfersTable>(sql, ...parameters).map(toRow);
  }

  get(transferId: string): Promise<TransferRow | null> {
    return Promise.resolve(this.#rows(SQL.get, transferId)[0] ?? null);
  }

  /**
   * Before anything is sent: the out row, and (for a dispatch) the agent as `moving` with the
   * state it leaves with, in one transaction. `handled`: the `seq`s of its stored messages whose
   * handlers ran here (their effect is in that state): they leave the store with it, so that the
   * stored messages left are exactly those the agent takes along (or finds again if it stays).
   */
  async beginDeparture(
    transferId: string,
    agentId: string,
    peer: HostAddress,
    moving: Omit<AgentRecord, "updatedAt"> | null,
    handled: readonly number[] = [],
  ): Promise<void> {
    const now = Date.now();
    await this.#store.transaction((tx) => {
      tx.run(
        SQL.insert,
        transferId,
        agentId,
        "out",
        "pending",
        peer.url,
        peer.name,
        peer.id ?? null,
        now,
        now,
      );
      if (moving) tx.put({ ...moving, status: "moving" });
      for (const seq of handled) tx.dequeue(agentId, seq);
    });
  }

  /**
   * The target has the agent: the departure is acknowledged, and the local copy (the `moving`
   * record this departure left, and the messages stored for it) is dropped and where it went
   * remembered. All of it only while the departure is still unsettled (pending or expired), and the
   * record only while it is the agent's newest unsettled departure: a departure settled meanwhile
   * (the agent came back here, or another settling got there first) changes nothing, whatever is
   * here now (the agent that came back, its stored messages), and a clone's transfer never touches
   * the record of its clone. True when this call dropped the local copy: its files and work dir are
   * the caller's to clean up then, and only then.
   */
  async finishDeparture(transferId: string, agentId: string, movedTo: HostAddress): Promise<boolean> {
    const now = Date.now();
    let left = false;
    await this.#store.transaction((tx) => {
      if (!isUnsettled(this.#rows(SQL.get, transferId)[0])) return;
      if (this.#rows(SQL.unsettledOf, agentId)[0]?.transferId === transferId && tx.deleteMoving(agentId)) {
        tx.recordMove(agentId, movedTo);
        left = true;
      }
      tx.run(SQL.setStatus, "acknowledged", now, transferId);
    });
    return left;
  }

  /** The target does not have it: mark the transfer failed and (for a dispatch) keep the agent here. */
  async failDeparture(transferId: string, restore: Omit<AgentRecord, "updatedAt"> | null): Promise<void> {
    await this.#store.transaction((tx) => {
      tx.run(SQL.setStatus, "failed", Date.now(), transferId);
      if (restore) tx.put(restore);
    });
  }

  /**
   * The arriving agent, the messages stored for it that it brings along (in their order, after any
   * stored here) and the in row, in one transaction (the target's durable point).
   */
  async storeArrival(
    transferId: string,
    peer: string,
    record: Omit<AgentRecord, "updatedAt">,
    queued: readonly QueuedEntry[] = [],
  ): Promise<void> {
    const now = Date.now();
    await this.#store.transaction((tx) => {
      tx.run(SQL.insert, transferId, record.id, "in", "stored", peer, null, null, now, now);
      tx.forgetMove(record.id);
      tx.put(record);
      for (const q of queued) tx.enqueue(record.id, q.message, q.oneway, q.queuedAt);
    });
  }

  async setStatus(transferId: string, status: OutStatus | InStatus): Promise<void> {
    await this.#store.write(SQL.setStatus, status, Date.now(), transferId);
  }

  /**
   * The source gives up on a transfer it could not confirm. Returns the row as it is now: either
   * the target has it after all (`stored`/`arrived`), or it is `refused` from now on.
   */
  async refuse(transferId: string, agentId: string, peer: string): Promise<TransferRow> {
    const now = Date.now();
    await this.#store.write(
      SQL.insertIfAbsent,
      transferId,
      agentId,
      "in",
      "refused",
      peer,
      null,
      null,
      now,
      now,
    );
    return (await this.get(transferId))!;
  }

  list(direction: "out", status: OutStatus): Promise<TransferRow[]>;
  list(direction: "in", status: InStatus): Promise<TransferRow[]>;
  list(direction: TransferDirection, status: OutStatus | InStatus): Promise<TransferRow[]> {
    return Promise.resolve(this.#rows(SQL.list, direction, status));
  }

  /**
   * The newest unsettled (pending or expired) departure of an agent, if any; read synchronously (the
   * kernel answers a request to a moving agent by it, moving_error.ts).
   */
  unsettledDepartureOf(agentId: string): TransferRow | null {
    return this.#rows(SQL.unsettledOf, agentId)[0] ?? null;
  }

  /**
   * The target of a pending departure no longer knows it (and may have taken it): kept as
   * `expired`, so that no later start asks again. False when the departure was settled meanwhile.
   */
  async expireDeparture(transferId: string): Promise<boolean> {
    return await this.#store.write(SQL.expire, Date.now(), transferId) > 0;
  }

  /**
   * The newest update time (this host's clock) of an arrival's row this host pruned; null when it
   * never pruned one. A transfer it does not know may have arrived here up to then.
   */
  forgottenThrough(): number | null {
    return this.#store.select<{ through: number }>(SQL.forgotten)[0]?.through ?? null;
  }

  /**
   * Deletes settled rows older than `retentionMs` plus the clock margin, and those no later
   * question needs (see {@link MAX_SETTLED_TRANSFERS}) older than a day past the newest `keep` of
   * them; pending, expired and stored rows are kept until settled. The margin is what a question
   * about a departure that never came needs to be told so within the retention, however short:
   * the target answers `refused` only for a departure more than the margin newer than the arrivals
   * it forgot. Deletes in short statements, the host serving between them.
   */
  async prune(retentionMs: number, keep = MAX_SETTLED_TRANSFERS): Promise<number> {
    const now = Date.now();
    const maxAgeMs = retentionMs + this.clockMarginMs;
    // The keep-th newest capped row's time: those older are past the cap.
    const past = this.#store.select<{ updated_at: number }>(SQL.cappedBefore, Math.max(0, keep - 1))[0]
      ?.updated_at ?? 0;
    await this.#store.write(SQL.forget, now - maxAgeMs);
    return await this.#deleteInSteps(SQL.prune, now - maxAgeMs) +
      await this.#deleteInSteps(SQL.pruneCapped, Math.min(now - SETTLED_KEEP_MS, past));
  }

  async #deleteInSteps(sql: string, before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.#store.write(sql, before, PRUNE_CHUNK);
      total += n;
      if (n < PRUNE_CHUNK) return total;
      await new Promise<void>((resolve) => immediate(resolve));
    }
  }
}

/**
 * The transfer ledger: one row per transfer a host sent (`out`) or took (`in`), written in the
 * same SQLite transaction as the agent record it concerns. It is what makes a handoff exactly
 * once across crashes:
 *
 * - out `pending`: the source wrote the agent as `moving` and may have sent it; resolved by
 *   asking the target → `acknowledged` (record deleted, move recorded) or `failed` (restored).
 * - in `stored`: the target holds the agent durably but has not started it yet → `arrived`.
 * - in `refused`: the source gave the transfer up; a late copy of it is rejected.
 */
import type { Kysely } from "kysely";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { type AgentRecord, recordToRow } from "../storage/agent_store.ts";
import type { Schema, TransfersTable } from "../storage/schema.ts";

export type OutStatus = "pending" | "acknowledged" | "failed";
export type InStatus = "stored" | "arrived" | "refused";

export interface TransferRow {
  transferId: string;
  agentId: string;
  direction: "in" | "out";
  status: OutStatus | InStatus;
  /** The other host's URL. */
  peer: string;
  createdAt: number;
  updatedAt: number;
}

function toRow(r: TransfersTable): TransferRow {
  return {
    transferId: r.transfer_id,
    agentId: r.agent_id,
    direction: r.direction as "in" | "out",
    status: r.status as TransferRow["status"],
    peer: r.peer,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const COLUMNS = "transfer_id, agent_id, direction, status, peer, created_at, updated_at";

/**
 * Statements as SQL text: the handoff runs a few of them per hop, and a typed builder per call
 * costs more than SQLite running them. Rows are mapped by `toRow` against `TransfersTable`.
 */
const SQL = {
  get: `SELECT ${COLUMNS} FROM transfers WHERE transfer_id = ?`,
  insert: `INSERT INTO transfers (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  insertIfAbsent:
    `INSERT INTO transfers (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (transfer_id) DO NOTHING`,
  setStatus: "UPDATE transfers SET status = ?, updated_at = ? WHERE transfer_id = ?",
  list: `SELECT ${COLUMNS} FROM transfers WHERE direction = ? AND status = ? ORDER BY created_at`,
  pendingOf:
    `SELECT ${COLUMNS} FROM transfers WHERE agent_id = ? AND direction = 'out' AND status = 'pending' ORDER BY created_at DESC LIMIT 1`,
  agentStatus: "SELECT status FROM agents WHERE id = ?",
  prune:
    "DELETE FROM transfers WHERE updated_at < ? AND status IN ('acknowledged', 'failed', 'arrived', 'refused')",
  deleteQueued: "DELETE FROM queued_messages WHERE agent_id = ?",
  deleteMoving: "DELETE FROM agents WHERE id = ? AND status = 'moving'",
  forgetMove: "DELETE FROM moved_agents WHERE id = ?",
  recordMove:
    "INSERT INTO moved_agents (id, moved_to, moved_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET moved_to = excluded.moved_to, moved_at = excluded.moved_at",
} as const;

/** An upsert of a whole agent row, for the columns `recordToRow` produces. */
function upsertAgent(record: Omit<AgentRecord, "updatedAt">): [string, ...SQLInputValue[]] {
  const row = recordToRow(record) as unknown as Record<string, SQLInputValue>;
  const columns = Object.keys(row);
  const updates = columns.filter((c) => c !== "id" && c !== "created_at").map((c) => `${c} = excluded.${c}`);
  const sql = `INSERT INTO agents (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ` +
    `ON CONFLICT (id) DO UPDATE SET ${updates.join(", ")}`;
  return [sql, ...columns.map((c) => row[c])];
}

type Run = (sql: string, ...parameters: SQLInputValue[]) => void;

/**
 * The ledger runs its statements synchronously on the host's SQLite connection (a handoff runs a
 * few per hop; the query builder's async path costs more than SQLite itself). Writes hold Kysely's
 * connection lock, so they never land inside a Kysely transaction that is open elsewhere.
 */
export class TransferLedger {
  readonly #db: Kysely<Schema>;
  readonly #raw: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: Kysely<Schema>, raw: DatabaseSync) {
    this.#db = db;
    this.#raw = raw;
  }

  #statement(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#raw.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #rows(sql: string, ...parameters: SQLInputValue[]): TransferRow[] {
    return (this.#statement(sql).all(...parameters) as unknown as TransfersTable[]).map(toRow);
  }

  /** Runs `fn` in one SQLite transaction, holding the connection. */
  async #transaction(fn: (run: Run) => void): Promise<void> {
    await this.#db.connection().execute(() => {
      const run: Run = (sql, ...parameters) => void this.#statement(sql).run(...parameters);
      this.#raw.exec("BEGIN IMMEDIATE");
      try {
        fn(run);
        this.#raw.exec("COMMIT");
      } catch (err) {
        this.#raw.exec("ROLLBACK");
        throw err;
      }
      return Promise.resolve();
    });
  }

  /** Runs one write statement, holding the connection. */
  async #write(sql: string, ...parameters: SQLInputValue[]): Promise<number> {
    return await this.#db.connection().execute(() =>
      Promise.resolve(Number(this.#statement(sql).run(...parameters).changes))
    );
  }

  get(transferId: string): Promise<TransferRow | null> {
    return Promise.resolve(this.#rows(SQL.get, transferId)[0] ?? null);
  }

  /**
   * Before anything is sent: the out row, and (for a dispatch) the agent as `moving` with the
   * state it leaves with, in one transaction.
   */
  async beginDeparture(
    transferId: string,
    agentId: string,
    peer: string,
    moving: Omit<AgentRecord, "updatedAt"> | null,
  ): Promise<void> {
    const now = Date.now();
    await this.#transaction((run) => {
      run(SQL.insert, transferId, agentId, "out", "pending", peer, now, now);
      if (moving) run(...upsertAgent({ ...moving, status: "moving" }));
    });
  }

  /** The target has the agent: drop the local copy and remember where it went. */
  async finishDeparture(transferId: string, agentId: string | null, movedTo: string): Promise<void> {
    const now = Date.now();
    await this.#transaction((run) => {
      if (agentId) {
        run(SQL.deleteQueued, agentId);
        run(SQL.deleteMoving, agentId);
        run(SQL.recordMove, agentId, movedTo, now);
      }
      run(SQL.setStatus, "acknowledged", now, transferId);
    });
  }

  /** The target does not have it: mark the transfer failed and (for a dispatch) keep the agent here. */
  async failDeparture(transferId: string, restore: Omit<AgentRecord, "updatedAt"> | null): Promise<void> {
    await this.#transaction((run) => {
      run(SQL.setStatus, "failed", Date.now(), transferId);
      if (restore) run(...upsertAgent(restore));
    });
  }

  /** The arriving agent and the in row, in one transaction (the target's durable point). */
  async storeArrival(
    transferId: string,
    peer: string,
    record: Omit<AgentRecord, "updatedAt">,
  ): Promise<void> {
    const now = Date.now();
    await this.#transaction((run) => {
      run(SQL.insert, transferId, record.id, "in", "stored", peer, now, now);
      run(SQL.forgetMove, record.id);
      run(...upsertAgent(record));
    });
  }

  async setStatus(transferId: string, status: OutStatus | InStatus): Promise<void> {
    await this.#write(SQL.setStatus, status, Date.now(), transferId);
  }

  /**
   * The source gives up on a transfer it could not confirm. Returns the row as it is now: either
   * the target has it after all (`stored`/`arrived`), or it is `refused` from now on.
   */
  async refuse(transferId: string, agentId: string, peer: string): Promise<TransferRow> {
    const now = Date.now();
    await this.#write(SQL.insertIfAbsent, transferId, agentId, "in", "refused", peer, now, now);
    return (await this.get(transferId))!;
  }

  list(direction: "in" | "out", status: string): Promise<TransferRow[]> {
    return Promise.resolve(this.#rows(SQL.list, direction, status));
  }

  /** The status of agent `id`'s record here, or null when there is none (a cheap check on the hot path). */
  agentStatus(id: string): string | null {
    const row = this.#statement(SQL.agentStatus).get(id) as { status: string } | undefined;
    return row?.status ?? null;
  }

  /** The newest pending departure of an agent, if any. */
  pendingDepartureOf(agentId: string): Promise<TransferRow | null> {
    return Promise.resolve(this.#rows(SQL.pendingOf, agentId)[0] ?? null);
  }

  /** Deletes settled rows older than `maxAgeMs` (pending and stored rows are kept until settled). */
  async prune(maxAgeMs: number): Promise<number> {
    return await this.#write(SQL.prune, Date.now() - maxAgeMs);
  }
}

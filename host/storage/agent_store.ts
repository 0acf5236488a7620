/**
 * Durable agent records, their queued messages and their forwarding records (tables `agents`,
 * `queued_messages`, `moved_agents`): this store is their one writer. Every write completes before
 * the caller acknowledges. Other owners of tables in the same database (the transfer ledger) write
 * their rows in the store's transactions ({@link AgentStore.transaction}).
 */
import { diskFullError } from "./disk_full.ts";
import { CompiledQuery, type Kysely, sql } from "kysely";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { Message } from "../../agents/message.ts";
import { type DeactivationPolicy, policyFields } from "../../agents/policy.ts";
import { decodeCbor, encodeCbor } from "../../agents/cbor.ts";
import type { AgentsTable, AgentStatus, Schema } from "./schema.ts";

export type { AgentStatus };

/** An agent record as the host keeps it. */
export interface AgentRecord {
  id: string;
  type: string;
  status: AgentStatus;
  state: Uint8Array;
  /** The deactivation policy in force while the agent is not active; null for an active agent. */
  policy: DeactivationPolicy | null;
  /**
   * The policy of the agent's last deactivation, which an active agent keeps: a graceful stop of
   * the host deactivates it under this policy (runtime.deactivateAll). Stored in the same column as
   * `policy`; absent or null when the agent was never deactivated here.
   */
  lastPolicy?: DeactivationPolicy | null;
  /**
   * When the host wakes the inactive agent next: its policy's `activateAt`, or later after a wake-up
   * that failed (arrivals.ts). Read from the store; writes derive it from the policy.
   */
  wakeAt?: number | null;
  createdAt: number;
  updatedAt: number;
  meta: Record<string, unknown>;
}

/** A message stored for an inactive agent. */
export interface QueuedMessage {
  seq: number;
  message: Message;
  oneway: boolean;
  queuedAt: number;
}

function toRecord(row: AgentsTable): AgentRecord {
  const policy = row.policy ? policyFields(JSON.parse(row.policy)) : null;
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    state: row.state,
    policy: row.status === "active" ? null : policy,
    lastPolicy: policy,
    wakeAt: row.status === "inactive" ? row.wake_at : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    meta: JSON.parse(row.meta),
  };
}

/** Columns of the record upsert, in the order Kysely binds them: the VALUES list, then the SET list. */
const INSERT_COLUMNS = [
  "id",
  "type",
  "status",
  "state",
  "policy",
  "wake_at",
  "activate_on_startup",
  "created_at",
  "updated_at",
  "meta",
] as const satisfies readonly (keyof AgentsTable)[];
const UPDATE_COLUMNS = INSERT_COLUMNS.filter((c) => c !== "id" && c !== "created_at");

/**
 * The statements on the create/dispose/message path, compiled once by Kysely's typed builder and
 * then re-run with new parameters: building a query object costs more than SQLite running it
 * (measured: an upsert 36 µs with the builder, 18 µs compiled once).
 */
interface HotStatements {
  upsert: string;
  deleteQueued: string;
  deleteAgent: string;
}

function compileHotStatements(db: Kysely<Schema>): HotStatements {
  // Distinct marker values prove the binding order the upsert relies on.
  const marker = Object.fromEntries(INSERT_COLUMNS.map((c) => [c, `:${c}`])) as unknown as AgentsTable;
  const upsert = db.insertInto("agents").values(marker).onConflict((oc) =>
    oc.column("id").doUpdateSet(
      Object.fromEntries(UPDATE_COLUMNS.map((c) => [c, `:${c}`])) as unknown as Partial<AgentsTable>,
    )
  ).compile();
  const expected = [...INSERT_COLUMNS, ...UPDATE_COLUMNS].map((c) => `:${c}`);
  if (upsert.parameters.join() !== expected.join()) {
    throw new Error(`Unexpected parameter order of the agent upsert: ${upsert.parameters.join()}`);
  }
  return {
    upsert: upsert.sql,
    deleteQueued: db.deleteFrom("queued_messages").where("agent_id", "=", ":id").compile().sql,
    deleteAgent: db.deleteFrom("agents").where("id", "=", ":id").compile().sql,
  };
}

/** The row of a record. */
function recordToRow(record: Omit<AgentRecord, "updatedAt">): AgentsTable {
  // An active record has no policy in force but keeps the one it was last deactivated with.
  const policy = record.policy ?? record.lastPolicy ?? null;
  return {
    id: record.id,
    type: record.type,
    status: record.status,
    state: record.state,
    policy: policy ? JSON.stringify(policy) : null,
    wake_at: record.status === "inactive" ? policy?.activateAt ?? null : null,
    activate_on_startup: record.status === "inactive" && policy?.activateOnStartup ? 1 : 0,
    created_at: record.createdAt,
    updated_at: Date.now(),
    meta: JSON.stringify(record.meta),
  };
}

/** Synchronous statements, for writes that must land in one transaction with another table's rows. */
const SYNC_SQL = {
  get: "SELECT * FROM agents WHERE id = ?",
  queuedCount: "SELECT count(*) AS n FROM queued_messages WHERE agent_id = ?",
  status: "SELECT status FROM agents WHERE id = ?",
  stateSize: "SELECT length(state) AS size FROM agents WHERE id = ?",
  // Only over an active record: a deactivation, dispose or departure stored since the snapshot wins.
  saveState: "UPDATE agents SET state = ?, updated_at = ? WHERE id = ? AND status = 'active'",
  deleteQueued: "DELETE FROM queued_messages WHERE agent_id = ?",
  deleteAgent: "DELETE FROM agents WHERE id = ?",
  // A departure's record: `moving` and no arrival's (an agent stored here and not yet started).
  deleteMoving:
    "DELETE FROM agents WHERE id = ? AND status = 'moving' AND json_extract(meta, '$.arrival') IS NULL",
  deleteQueuedOfMoving: `DELETE FROM queued_messages WHERE agent_id = ? AND EXISTS (
      SELECT 1 FROM agents WHERE id = ? AND status = 'moving' AND json_extract(meta, '$.arrival') IS NULL)`,
  forgetMove: "DELETE FROM moved_agents WHERE id = ?",
  dequeue: "DELETE FROM queued_messages WHERE agent_id = ? AND seq = ?",
  enqueue: "INSERT INTO queued_messages (agent_id, body, queued_at) VALUES (?, ?, ?)",
  recordMove:
    "INSERT INTO moved_agents (id, moved_to, moved_to_name, moved_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET moved_to = excluded.moved_to, moved_to_name = excluded.moved_to_name, moved_at = excluded.moved_at",
} as const;

/** The writes a transaction of the store offers (see {@link AgentStore.transaction}). */
export interface StoreTransaction {
  /** Inserts or replaces a whole agent record. */
  put(record: Omit<AgentRecord, "updatedAt">): void;
  /** Checkpoints the state of an active agent (no effect on a record that is not active). */
  saveState(id: string, state: Uint8Array): void;
  /**
   * Deletes the record of an agent leaving this host (`moving`, not an arrival's) and its queued
   * messages; nothing when there is none (whatever else is stored for `id`). True when it deleted it.
   */
  deleteMoving(id: string): boolean;
  /** Remembers where an agent went (forwarding): the host's URL and, where known, its name. */
  recordMove(id: string, movedTo: HostAddress): void;
  /** Forgets where an agent went (it is back). */
  forgetMove(id: string): void;
  /** Removes one queued message (its effect is stored in the same transaction). */
  dequeue(id: string, seq: number): void;
  /** Stores a message for the agent after those stored already (an arriving agent's stored messages). */
  enqueue(id: string, message: Message, oneway: boolean, queuedAt: number): void;
  /** A statement on a table of another owner (the transfer ledger's `transfers`). */
  run(sql: string, ...parameters: SQLInputValue[]): void;
}

/**
 * A host as a record names it: its URL then, its name and (a transfer's) its id (host_id.ts),
 * each null where it is not known.
 */
export interface HostAddress {
  url: string;
  name: string | null;
  id?: string | null;
}

export class AgentStore {
  readonly #db: Kysely<Schema>;
  readonly #raw: DatabaseSync;
  readonly #sync = new Map<string, StatementSync>();
  #hot?: HotStatements;
  /** The statements of {@link transaction}, made once (see #newTransaction). */
  readonly #tx: StoreTransaction = this.#newTransaction();
  constructor(db: Kysely<Schema>, raw: DatabaseSync) {
    this.#db = db;
    this.#raw = raw;
  }

  #prepared(sql: string): StatementSync {
    let stmt = this.#sync.get(sql);
    if (!stmt) {
      stmt = this.#raw.prepare(sql);
      this.#sync.set(sql, stmt);
    }
    return stmt;
  }

  /**
   * Runs `fn` in one SQLite transaction, synchronously, holding Kysely's connection (so it never
   * lands inside a Kysely transaction open elsewhere). Synchronous statements, because a handoff
   * runs a few per hop and the query builder's async path costs more than SQLite itself.
   */
  async transaction(fn: (tx: StoreTransaction) => void): Promise<void> {
    await this.#db.connection().execute(() => {
      try {
        // A rollback that failed before (a full disk) left the transaction open: end it first.
        if (this.#raw.isTransaction) this.#raw.exec("ROLLBACK");
        this.#raw.exec("BEGIN IMMEDIATE");
        fn(this.#tx);
        this.#raw.exec("COMMIT");
      } catch (err) {
        // SQLite may have rolled back already (a full disk at COMMIT); a rollback that fails too is
        // retried by the next transaction, and nothing of this one was committed either way.
        try {
          if (this.#raw.isTransaction) this.#raw.exec("ROLLBACK");
        } catch { /* see above */ }
        throw diskFullError(err);
      }
      return Promise.resolve();
    });
  }

  /**
   * The statements a transaction offers. Made once and used by every transaction (they run one at
   * a time on the connection): the host's bundle keeps names, and named closures made for every
   * group commit cost each one an Object.defineProperty (measured: about 0.5 µs of the kernel
   * thread per state-changing message).
   */
  #newTransaction(): StoreTransaction {
    const run = (sql: string, ...parameters: SQLInputValue[]) => void this.#prepared(sql).run(...parameters);
    return {
      put: (record) => {
        const row = recordToRow(record);
        const parameters = [...INSERT_COLUMNS.map((c) => row[c]), ...UPDATE_COLUMNS.map((c) => row[c])];
        run(this.#statements.upsert, ...parameters as SQLInputValue[]);
      },
      saveState: (id, state) => run(SYNC_SQL.saveState, state, Date.now(), id),
      deleteMoving: (id) => {
        run(SYNC_SQL.deleteQueuedOfMoving, id, id);
        return Number(this.#prepared(SYNC_SQL.deleteMoving).run(id).changes) > 0;
      },
      recordMove: (id, movedTo) => run(SYNC_SQL.recordMove, id, movedTo.url, movedTo.name, Date.now()),
      forgetMove: (id) => run(SYNC_SQL.forgetMove, id),
      dequeue: (id, seq) => run(SYNC_SQL.dequeue, id, seq),
      enqueue: (id, message, oneway, queuedAt) =>
        run(SYNC_SQL.enqueue, id, encodeCbor({ message, oneway }), queuedAt),
      run,
    };
  }

  /** Rows of a read on a table of another owner (synchronous, like {@link transaction}). */
  select<T>(sql: string, ...parameters: SQLInputValue[]): T[] {
    return this.#prepared(sql).all(...parameters) as unknown as T[];
  }

  /** One write statement on a table of another owner, holding the connection; answers the rows changed. */
  async write(sql: string, ...parameters: SQLInputValue[]): Promise<number> {
    return await this.#db.connection().execute(() =>
      Promise.resolve(Number(this.#prepared(sql).run(...parameters).changes))
    );
  }

  /** The status of agent `id`'s record, or null when there is none (a cheap check on the hot path). */
  statusOf(id: string): AgentStatus | null {
    const row = this.#prepared(SYNC_SQL.status).get(id) as { status: AgentStatus } | undefined;
    return row?.status ?? null;
  }

  /** The size in bytes of agent `id`'s stored state, or null when there is no record. */
  stateSizeOf(id: string): number | null {
    const row = this.#prepared(SYNC_SQL.stateSize).get(id) as { size: number | bigint } | undefined;
    return row ? Number(row.size) : null;
  }

  get #statements(): HotStatements {
    return this.#hot ??= compileHotStatements(this.#db);
  }

  /**
   * The record of `id`, or null. Read synchronously, as {@link statusOf}: every write of the store
   * is one synchronous statement or transaction, so a read never sees half of one, and reads do not
   * queue behind the query builder's connection lock, whose every release wakes every waiter (a
   * request reading 20,000 records at once took 15–26 s that way).
   */
  get(id: string): Promise<AgentRecord | null> {
    return readNow(() => {
      const row = this.#prepared(SYNC_SQL.get).get(id) as AgentsTable | undefined;
      return row ? toRecord(row) : null;
    });
  }

  /** Inserts or replaces a whole record. */
  async put(record: Omit<AgentRecord, "updatedAt">): Promise<void> {
    const row = recordToRow(record);
    const parameters = [...INSERT_COLUMNS.map((c) => row[c]), ...UPDATE_COLUMNS.map((c) => row[c])];
    await this.#db.executeQuery(CompiledQuery.raw(this.#statements.upsert, parameters));
  }

  async setStatus(id: string, status: AgentStatus, meta?: Record<string, unknown>): Promise<void> {
    const patch: Partial<AgentsTable> = { status, updated_at: Date.now() };
    if (status !== "inactive") {
      patch.wake_at = null;
      patch.activate_on_startup = 0;
    }
    if (meta) patch.meta = JSON.stringify(meta);
    await this.#db.updateTable("agents").set(patch).where("id", "=", id).execute();
  }

  /**
   * Deletes the record and its queued messages, in one of {@link transaction}'s transactions (a
   * full disk answers `insufficient_storage` and deletes nothing).
   */
  async delete(id: string): Promise<void> {
    await this.transaction((tx) => {
      tx.run(SYNC_SQL.deleteQueued, id);
      tx.run(SYNC_SQL.deleteAgent, id);
    });
  }

  /**
   * Stored agents in creation order. `stateHas`: bytes the stored state must contain (SQLite looks,
   * no state is read into JavaScript for the others): a cheap first cut, such as a key's CBOR.
   */
  async list(
    filter: { status?: AgentStatus; type?: string; limit?: number; stateHas?: Uint8Array } = {},
  ): Promise<AgentRecord[]> {
    let q = this.#db.selectFrom("agents").selectAll();
    if (filter.status) q = q.where("status", "=", filter.status);
    if (filter.type) q = q.where("type", "=", filter.type);
    if (filter.stateHas) q = q.where(sql<boolean>`instr(state, ${filter.stateHas}) > 0`);
    q = q.orderBy("created_at").limit(filter.limit ?? 10_000);
    return (await q.execute()).map(toRecord);
  }

  /** The code hashes agents of this host name (their types come from travelling code). */
  async codeHashes(): Promise<Set<string>> {
    const { rows } = await sql<{ code: string }>`SELECT DISTINCT json_extract(meta, '$.code') AS code
      FROM agents WHERE json_extract(meta, '$.code') IS NOT NULL`.execute(this.#db);
    return new Set(rows.map((row) => row.code));
  }

  /** The ids of every stored agent, any status. */
  async ids(): Promise<string[]> {
    return (await this.#db.selectFrom("agents").select("id").execute()).map((r) => r.id);
  }

  async countByStatus(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const row of await this.countByStatusAndType()) {
      counts[row.status] = (counts[row.status] ?? 0) + row.n;
    }
    return counts;
  }

  /** How many records there are of each status and type (for /metrics). */
  async countByStatusAndType(): Promise<{ status: string; type: string; n: number }[]> {
    const rows = await this.#db.selectFrom("agents").select(["status", "type"]).select((eb) =>
      eb.fn.countAll<number>().as("n")
    ).groupBy(["status", "type"]).execute();
    return rows.map((r) => ({ status: r.status, type: r.type, n: Number(r.n) }));
  }

  /** Ids of inactive agents whose wake-up time has come, but those in `except`. */
  async dueWakeups(now: number, limit = 100, except: readonly string[] = []): Promise<string[]> {
    let query = this.#db.selectFrom("agents").select("id").where("status", "=", "inactive")
      .where("wake_at", "<=", now);
    if (except.length > 0) query = query.where("id", "not in", except);
    const rows = await query.orderBy("wake_at").limit(limit).execute();
    return rows.map((r) => r.id);
  }

  /** The earliest pending wake-up time but those of `except`, or null. */
  async nextWakeup(except: readonly string[] = []): Promise<number | null> {
    let query = this.#db.selectFrom("agents").select((eb) => eb.fn.min<number>("wake_at").as("next"))
      .where("status", "=", "inactive").where("wake_at", "is not", null);
    if (except.length > 0) query = query.where("id", "not in", except);
    const row = await query.executeTakeFirst();
    return row?.next ?? null;
  }

  /** Moves the wake-up of inactive agent `id` to `at` (its policy keeps the time it asked for). */
  async postponeWakeup(id: string, at: number): Promise<void> {
    await this.#db.updateTable("agents").set({ wake_at: at }).where("id", "=", id)
      .where("status", "=", "inactive").execute();
  }

  /**
   * Inactive agent `id`, found due at `now`, is not due by its policy: a wake-up time at or before
   * `now` is put back to the time the policy asks for (`at`: none, or a later one).
   */
  async settleWakeup(id: string, at: number | null, now: number): Promise<void> {
    await this.#db.updateTable("agents").set({ wake_at: at })
      .where("id", "=", id).where("status", "=", "inactive").where("wake_at", "<=", now).execute();
  }

  async startupAgents(): Promise<string[]> {
    const rows = await this.#db.selectFrom("agents").select("id")
      .where((eb) =>
        eb.or([
          eb("status", "=", "active"),
          eb.and([eb("status", "=", "inactive"), eb("activate_on_startup", "=", 1)]),
        ])
      )
      .orderBy("created_at").execute();
    return rows.map((r) => r.id);
  }

  async enqueue(agentId: string, message: Message, oneway: boolean): Promise<number> {
    const result = await this.#db.insertInto("queued_messages").values({
      seq: null,
      agent_id: agentId,
      body: encodeCbor({ message, oneway }),
      queued_at: Date.now(),
    }).executeTakeFirst();
    return Number(result.insertId);
  }

  async queued(agentId: string): Promise<QueuedMessage[]> {
    const rows = await this.#db.selectFrom("queued_messages").selectAll().where("agent_id", "=", agentId)
      .orderBy("seq").execute();
    return rows.map((row) => {
      const body = decodeCbor<{ message: Message; oneway: boolean }>(row.body);
      return { seq: Number(row.seq), message: body.message, oneway: body.oneway, queuedAt: row.queued_at };
    });
  }

  /** Messages stored for `agentId`; read synchronously, as {@link get}. */
  queuedCount(agentId: string): Promise<number> {
    return readNow(() => {
      const row = this.#prepared(SYNC_SQL.queuedCount).get(agentId) as { n: number | bigint } | undefined;
      return Number(row?.n ?? 0);
    });
  }

  /** Removes an agent's queued messages up to and including `seq` (they were handed to its mailbox). */
  async dequeueThrough(agentId: string, seq: number): Promise<void> {
    await this.#db.deleteFrom("queued_messages").where("agent_id", "=", agentId).where("seq", "<=", seq)
      .execute();
  }

  /**
   * Forgets forwarding records made before `before`, and the oldest beyond the newest `keep`;
   * answers how many were removed.
   */
  async pruneMoves(before: number, keep: number): Promise<number> {
    const old = await this.#db.deleteFrom("moved_agents").where("moved_at", "<", before).executeTakeFirst();
    const excess = await this.#db.deleteFrom("moved_agents").where(
      "id",
      "in",
      (eb) => eb.selectFrom("moved_agents").select("id").orderBy("moved_at", "desc").limit(-1).offset(keep),
    ).executeTakeFirst();
    return Number(old.numDeletedRows) + Number(excess.numDeletedRows);
  }

  /** Where an agent that left went, as its forwarding record says; null when there is none. */
  async movedTo(id: string): Promise<HostAddress | null> {
    const row = await this.#db.selectFrom("moved_agents").select(["moved_to", "moved_to_name"])
      .where("id", "=", id).executeTakeFirst();
    return row ? { url: row.moved_to, name: row.moved_to_name } : null;
  }
}

/** A synchronous read as the promise the store's readers await (a failure rejects it). */
function readNow<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The host database: table types (the schema lives in the type system) and migrations. */
import { Kysely, SqliteDialect } from "kysely";
import { NodeSqliteDatabase } from "./sqlite_adapter.ts";

/**
 * `moving`: in a handoff between hosts (leaving here, or stored here and not yet started); the
 * kernel never starts it.
 */
export type AgentStatus = "active" | "inactive" | "crashed" | "moving";

/** Which way a transfer went: `out` from this host, `in` to it. */
export type TransferDirection = "in" | "out";
/** Statuses of a transfer this host sent (see transfers/transfer_ledger.ts). */
export type OutStatus = "pending" | "acknowledged" | "failed";
/** Statuses of a transfer this host took. */
export type InStatus = "stored" | "arrived" | "refused";

export interface AgentsTable {
  id: string;
  type: string;
  status: AgentStatus;
  /** CBOR of the state. */
  state: Uint8Array;
  /**
   * JSON of the DeactivationPolicy: in force for an inactive agent; an active one keeps that of its
   * last deactivation (AgentRecord.lastPolicy).
   */
  policy: string | null;
  /** Epoch ms of a timed wake-up. */
  wake_at: number | null;
  activate_on_startup: number;
  created_at: number;
  updated_at: number;
  /** JSON: registered files, code hash, home, etc. */
  meta: string;
}

export interface QueuedMessagesTable {
  seq: number | null;
  agent_id: string;
  /** CBOR of {message, oneway}. */
  body: Uint8Array;
  queued_at: number;
}

export interface MovedAgentsTable {
  id: string;
  moved_to: string;
  moved_at: number;
}

export interface TransfersTable {
  transfer_id: string;
  agent_id: string;
  direction: TransferDirection;
  status: OutStatus | InStatus;
  peer: string;
  created_at: number;
  updated_at: number;
}

export interface StorageUsageTable {
  type: string;
  used_bytes: number;
}

export interface Schema {
  agents: AgentsTable;
  queued_messages: QueuedMessagesTable;
  moved_agents: MovedAgentsTable;
  transfers: TransfersTable;
  storage_usage: StorageUsageTable;
}

const MIGRATIONS: string[] = [
  `CREATE TABLE agents (
     id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL, state BLOB NOT NULL,
     policy TEXT, wake_at INTEGER, activate_on_startup INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, meta TEXT NOT NULL DEFAULT '{}');
   CREATE INDEX agents_status ON agents(status);
   CREATE INDEX agents_wake ON agents(wake_at) WHERE wake_at IS NOT NULL;
   CREATE TABLE queued_messages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT NOT NULL, body BLOB NOT NULL, queued_at INTEGER NOT NULL);
   CREATE INDEX queued_messages_agent ON queued_messages(agent_id, seq);
   CREATE TABLE moved_agents (id TEXT PRIMARY KEY, moved_to TEXT NOT NULL, moved_at INTEGER NOT NULL);
   CREATE TABLE transfers (
     transfer_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, direction TEXT NOT NULL, status TEXT NOT NULL,
     peer TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE storage_usage (type TEXT PRIMARY KEY, used_bytes INTEGER NOT NULL);`,
];

/** Opens (and migrates) the host database at `path`. */
export function openDatabase(path: string): { db: Kysely<Schema>; raw: NodeSqliteDatabase } {
  const raw = new NodeSqliteDatabase(path);
  const version = Number(
    (raw.raw.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
  );
  for (let v = version; v < MIGRATIONS.length; v++) {
    raw.raw.exec("BEGIN IMMEDIATE");
    try {
      raw.raw.exec(MIGRATIONS[v]);
      raw.raw.exec(`PRAGMA user_version = ${v + 1}`);
      raw.raw.exec("COMMIT");
    } catch (err) {
      raw.raw.exec("ROLLBACK");
      throw err;
    }
  }
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });
  return { db, raw };
}

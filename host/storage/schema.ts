/** The host database: table types (the schema lives in the type system) and migrations. */
import { Kysely, SqliteDialect } from "kysely";
import { NodeSqliteDatabase } from "./sqlite_adapter.ts";
import { PagletError } from "../../agents/errors.ts";
import { dirname, join } from "../../agents/paths.ts";

/**
 * `moving`: in a handoff between hosts (leaving here, or stored here and not yet started); the
 * kernel never starts it.
 */
export type AgentStatus = "active" | "inactive" | "crashed" | "moving";

/** Which way a transfer went: `out` from this host, `in` to it. */
export type TransferDirection = "in" | "out";
/**
 * Statuses of a transfer this host sent (see transfers/transfer_ledger.ts): `expired` is a pending
 * one its target no longer knows, left to an operator.
 */
export type OutStatus = "pending" | "expired" | "acknowledged" | "failed";
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
  /** The name of the host it went to (null in records before names were kept). */
  moved_to_name: string | null;
  moved_at: number;
}

export interface TransfersTable {
  transfer_id: string;
  agent_id: string;
  direction: TransferDirection;
  status: OutStatus | InStatus;
  peer: string;
  /** The other host's name, as it answered (null where not known). */
  peer_name: string | null;
  /** The other host's id (host_id.ts), as it answered (null where not known). */
  peer_id: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * The ledger's memory of what it forgot (one row, id 1): the newest update time, by this host's
 * clock, of an arrival's row it pruned. A transfer it does not know may have arrived before then.
 */
export interface TransfersForgottenTable {
  id: number;
  through: number;
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
  transfers_forgotten: TransfersForgottenTable;
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
  // What the ledger's and the forwarding records' pruning, and a move's lookups, read by.
  `CREATE INDEX transfers_settled ON transfers(status, updated_at);
   CREATE INDEX transfers_capped ON transfers(updated_at) WHERE status IN ('acknowledged', 'failed', 'refused');
   CREATE INDEX transfers_agent ON transfers(agent_id);
   CREATE INDEX moved_agents_at ON moved_agents(moved_at);`,
  // Hosts by name as well as URL: a host may come back at another address, and another host may
  // come to answer at its old one.
  `ALTER TABLE transfers ADD COLUMN peer_name TEXT;
   ALTER TABLE moved_agents ADD COLUMN moved_to_name TEXT;`,
  // The other host's id (host_id.ts): what settles a move the source could not confirm.
  `ALTER TABLE transfers ADD COLUMN peer_id TEXT;`,
  // How far the ledger forgot arrivals: a settling question about a transfer it does not know and
  // may have forgotten is not answered `refused`.
  `CREATE TABLE transfers_forgotten (id INTEGER PRIMARY KEY CHECK (id = 1), through INTEGER NOT NULL);`,
];

/** Opens (and migrates) the host database at `path`. */
export function openDatabase(path: string): { db: Kysely<Schema>; raw: NodeSqliteDatabase } {
  refuseEmptied(path);
  let opened: NodeSqliteDatabase | undefined;
  let version: number;
  try {
    opened = new NodeSqliteDatabase(path);
    version = Number(
      (opened.raw.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
  } catch (err) {
    opened?.raw.close();
    throw corrupt(path, (err as Error).message, err);
  }
  const raw = opened;
  if (version > MIGRATIONS.length) {
    raw.raw.close();
    // Its tables may hold what this version would misread, or undo: nothing is read or changed.
    throw new PagletError(
      "data_newer",
      `${path} was written by a newer version of paglets (database schema ${version}; this version knows ` +
        `${MIGRATIONS.length}); nothing was changed. Start the newer version on it, or a copy of this ` +
        `data dir saved before the upgrade`,
    );
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    raw.raw.exec("BEGIN IMMEDIATE");
    try {
      raw.raw.exec(MIGRATIONS[v]);
      raw.raw.exec(`PRAGMA user_version = ${v + 1}`);
      raw.raw.exec("COMMIT");
    } catch (err) {
      raw.raw.exec("ROLLBACK");
      raw.raw.close();
      throw corrupt(path, (err as Error).message, err);
    }
  }
  let problems: string | null;
  try {
    problems = quickCheck(raw);
  } catch (err) {
    problems = (err as Error).message;
  }
  if (problems) {
    raw.raw.close();
    throw corrupt(path, `quick_check: ${problems}`);
  }
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });
  return { db, raw };
}

/** Databases up to this size are checked at every start (1–2 ms per MiB here). */
const CHECKED_BYTES = 64 * 1024 * 1024;

/**
 * SQLite's `quick_check` of a database up to {@link CHECKED_BYTES}: null when it is sound, else its
 * first findings. A damaged index or page found now is a clear refusal at start, where it would be
 * a `500 internal` on whatever request first read it.
 */
function quickCheck(raw: NodeSqliteDatabase): string | null {
  const pages = raw.raw.prepare("PRAGMA page_count").get() as { page_count: number };
  const size = raw.raw.prepare("PRAGMA page_size").get() as { page_size: number };
  if (pages.page_count * size.page_size > CHECKED_BYTES) return null;
  const rows = raw.raw.prepare("PRAGMA quick_check(5)").all() as { quick_check: string }[];
  const found = rows.map((r) => r.quick_check).filter((line) => line !== "ok");
  return found.length ? `${found.join("; ")} (malformed)` : null;
}

/** What SQLite says of a file that is not a database, or one whose pages are damaged. */
const DAMAGED = /malformed|not a database|corrupt/i;

/**
 * `data_corrupt` for the database at `path`, with what SQLite said and what to do; any other error
 * (a full disk, permissions) as it is, for the host's start to report.
 */
function corrupt(path: string, why: string, err?: unknown): unknown {
  if (!DAMAGED.test(why)) return err ?? new PagletError("internal", `Cannot open ${path}: ${why}`);
  return new PagletError(
    "data_corrupt",
    `${path} is damaged (SQLite: ${why}); nothing was changed. Restore it from a backup, or save what ` +
      `can be saved with \`sqlite3 ${path} .recover\` into a new file put in its place`,
  );
}

/**
 * An empty database file in a data dir that was used before (its mesh record, code or work folders
 * are there): SQLite would take it for a new database, and the host would start as if it had never
 * held an agent. Refused instead; a data dir that is new, or a file that is missing, starts fresh.
 */
function refuseEmptied(path: string): void {
  let size: number;
  try {
    size = Deno.statSync(path).size;
  } catch {
    return; // not there: a new host
  }
  if (size > 0) return;
  const used = ["mesh.json", "host-id", "code", "work", "storage", "artifacts"].filter((name) => {
    try {
      Deno.statSync(join(dirname(path), name));
      return true;
    } catch {
      return false;
    }
  });
  if (used.length === 0) return;
  throw new PagletError(
    "data_corrupt",
    `${path} is empty, but its data dir was used before (${used.join(", ")} there): its agents ` +
      `would be gone. Restore the file from a backup, or remove the data dir to start a new host there`,
  );
}

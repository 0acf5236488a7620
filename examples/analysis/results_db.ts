/**
 * The campaign's SQLite result database: the three result tables, appended to by each job when it
 * is back home, under a cross-process file lock at `<db>.paglets.lock` and inside one
 * `BEGIN IMMEDIATE` transaction. A job already in `job_summary` is not appended again, so a
 * commit repeated after a crash (rows written, paglet not yet disposed) adds nothing.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { dirname } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";
import { acquireFileLock } from "./file_lock.ts";
import { decodeRows } from "./frames.ts";
import { type ColumnKind, RESULT_TABLES, type ResultTable, type TableSchema } from "./schema.ts";

const SQL_TYPE: Record<ColumnKind, string> = {
  text: "TEXT",
  integer: "INTEGER",
  real: "REAL",
  boolean: "INTEGER",
};

/** The lock file that serializes writers of `dbPath`. */
export function lockPathOf(dbPath: string): string {
  return `${dbPath}.paglets.lock`;
}

/** `CREATE TABLE IF NOT EXISTS` of one result table. */
export function createTableSql(schema: TableSchema): string {
  const cols = schema.columns.map(([name, kind]) =>
    `  "${name}" ${SQL_TYPE[kind]}${name === "job_id" ? " NOT NULL" : ""}`
  );
  return `CREATE TABLE IF NOT EXISTS ${schema.name} (\n${cols.join(",\n")}\n)`;
}

/** The whole schema: tables and job_id indexes. */
export function schemaSql(): string[] {
  return RESULT_TABLES.flatMap((t) => [
    createTableSql(t),
    `CREATE INDEX IF NOT EXISTS ${t.name}_job_id ON ${t.name} (job_id)`,
  ]);
}

/** What {@link appendResults} did. */
export interface AppendOutcome {
  /** Rows appended per table (0 everywhere when the job was there already). */
  rows: Record<ResultTable, number>;
  alreadyCommitted: boolean;
  lockWaitMs: number;
}

/**
 * Appends one job's frames (Arrow IPC bytes per table) to the database at `dbPath`, waiting at most
 * `lockTimeoutSeconds` for the file lock (`timeout` otherwise). All or nothing.
 */
export async function appendResults(
  dbPath: string,
  jobId: string,
  payloads: Record<string, Uint8Array>,
  lockTimeoutSeconds: number,
): Promise<AppendOutcome> {
  const decoded = RESULT_TABLES.map((schema) => {
    const bytes = payloads[schema.name];
    if (!bytes) throw new PagletError("invalid_request", `job ${jobId} has no ${schema.name} frame`);
    return { schema, rows: decodeRows(schema, bytes) };
  });
  await Deno.mkdir(dirname(dbPath), { recursive: true });
  const lock = await acquireFileLock(lockPathOf(dbPath), lockTimeoutSeconds);
  try {
    const db = new DatabaseSync(dbPath);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.round(lockTimeoutSeconds * 1000))}`);
      for (const sql of schemaSql()) db.exec(sql);
      db.exec("BEGIN IMMEDIATE");
      try {
        const seen = db.prepare("SELECT 1 FROM job_summary WHERE job_id = ? LIMIT 1").get(jobId);
        const rows = { job_summary: 0, feature_summary: 0, prediction_summary: 0 };
        if (!seen) {
          for (const { schema, rows: values } of decoded) {
            const names = schema.columns.map(([n]) => `"${n}"`).join(", ");
            const marks = schema.columns.map(() => "?").join(", ");
            const insert = db.prepare(`INSERT INTO ${schema.name} (${names}) VALUES (${marks})`);
            for (const row of values) insert.run(...row.map(sqlValue));
            rows[schema.name] = values.length;
          }
        }
        db.exec("COMMIT");
        return { rows, alreadyCommitted: Boolean(seen), lockWaitMs: lock.waitedMs };
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      }
    } finally {
      db.close();
    }
  } finally {
    lock.release();
  }
}

function sqlValue(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") return Number(v);
  return v as string | number;
}

/** Rows per table, accuracy per job and hosts used, read at the end of a campaign. */
export interface ResultsSummary {
  tables: Record<ResultTable, number>;
  jobs: { jobId: string; host: string; accuracy: number; computeSeconds: number; cpuCoreIds: string }[];
  hosts: { host: string; jobs: number }[];
}

/** Reads the summary of one campaign (or of all, without `campaignId`); empty when there is no DB. */
export function summarizeResults(dbPath: string, campaignId?: string): ResultsSummary {
  const empty: ResultsSummary = {
    tables: { job_summary: 0, feature_summary: 0, prediction_summary: 0 },
    jobs: [],
    hosts: [],
  };
  try {
    Deno.statSync(dbPath);
  } catch {
    return empty;
  }
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const has = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'job_summary'")
      .get();
    if (!has) return empty;
    const where = campaignId === undefined ? "" : "WHERE campaign_id = ?";
    const args = campaignId === undefined ? [] : [campaignId];
    for (const t of RESULT_TABLES) {
      const row = db.prepare(`SELECT COUNT(*) AS n FROM ${t.name} ${where}`).get(...args) as { n: number };
      empty.tables[t.name] = Number(row.n);
    }
    empty.jobs = (db.prepare(
      `SELECT job_id, host, accuracy, compute_seconds, cpu_core_ids FROM job_summary ${where} ORDER BY job_id`,
    ).all(...args) as Record<string, unknown>[]).map((r) => ({
      jobId: String(r.job_id),
      host: String(r.host),
      accuracy: Number(r.accuracy),
      computeSeconds: Number(r.compute_seconds),
      cpuCoreIds: String(r.cpu_core_ids),
    }));
    empty.hosts = (db.prepare(
      `SELECT host, COUNT(*) AS n FROM job_summary ${where} GROUP BY host ORDER BY host`,
    ).all(...args) as Record<string, unknown>[]).map((r) => ({ host: String(r.host), jobs: Number(r.n) }));
    return empty;
  } finally {
    db.close();
  }
}

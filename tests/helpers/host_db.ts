/** Reading a host's SQLite database beside the running host (what no route shows, on purpose). */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { decodeCbor } from "../../agents/cbor.ts";

/** The first row `sql` selects from the host database in `dataDir` (read-only), or undefined. */
export function hostRow<T>(dataDir: string, sql: string, ...parameters: (string | number)[]): T | undefined {
  const db = new DatabaseSync(join(dataDir, "host.sqlite"), { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 2000");
    return db.prepare(sql).get(...parameters) as T | undefined;
  } finally {
    db.close();
  }
}

/** The state the host in `dataDir` has stored for agent `id` now, or null when it has no such agent. */
export function storedState<T = Record<string, unknown>>(dataDir: string, id: string): T | null {
  const row = hostRow<{ state: Uint8Array }>(dataDir, "SELECT state FROM agents WHERE id = ?", id);
  return row ? decodeCbor<T>(row.state) : null;
}

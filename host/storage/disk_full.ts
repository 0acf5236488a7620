/**
 * A full disk, told apart from other failures: SQLite's SQLITE_FULL (13) and the OS's ENOSPC become
 * `insufficient_storage` (HTTP 507), so a client learns that nothing was stored and that trying again
 * once space is freed will work. Every other error passes through unchanged.
 */
import { PagletError } from "../../agents/errors.ts";

const SQLITE_FULL = 13;

/** Whether `err` says the disk (or the database's filesystem) is full. */
export function isDiskFull(err: unknown): boolean {
  if (err instanceof PagletError) return err.code === "insufficient_storage";
  const e = err as { errcode?: number; code?: string; message?: string } | null;
  if (!e || typeof e !== "object") return false;
  return ((e.errcode ?? 0) & 0xff) === SQLITE_FULL || e.code === "ENOSPC" ||
    /os error 28\b|database or disk is full/.test(e.message ?? "");
}

/** `err` as `insufficient_storage` when the disk is full, else `err` itself. */
export function diskFullError(err: unknown): unknown {
  if (err instanceof PagletError || !isDiskFull(err)) return err;
  return new PagletError(
    "insufficient_storage",
    `The host's disk is full, so nothing was stored: free space in its data directory and try again (${
      (err as Error).message
    })`,
  );
}

/**
 * The snapshots a host knows, one per host URL; when two meet, the newer `observedAt` wins.
 *
 * @module
 */
import type { MeshSnapshot } from "./contract.ts";

export class SnapshotTable {
  readonly #byUrl = new Map<string, MeshSnapshot>();

  /** Keeps `snapshot` unless a newer one of the same host is known; true when it was kept. */
  merge(snapshot: MeshSnapshot): boolean {
    const key = keyOf(snapshot.hostUrl);
    const known = this.#byUrl.get(key);
    if (known && known.observedAt >= snapshot.observedAt) return false;
    this.#byUrl.set(key, snapshot);
    return true;
  }

  /** Merges many; returns how many were newer. */
  mergeAll(snapshots: Iterable<MeshSnapshot>, skipUrl?: string): number {
    let merged = 0;
    const skip = skipUrl ? keyOf(skipUrl) : null;
    for (const s of snapshots) {
      if (skip !== null && keyOf(s.hostUrl) === skip) continue;
      if (this.merge(s)) merged++;
    }
    return merged;
  }

  get(url: string): MeshSnapshot | undefined {
    return this.#byUrl.get(keyOf(url));
  }

  /** Every snapshot, newest first. */
  all(): MeshSnapshot[] {
    return [...this.#byUrl.values()].sort((a, b) => b.observedAt - a.observedAt);
  }

  /** Snapshots observed within `maxAgeMs` of `now`, newest first. */
  fresh(now: number, maxAgeMs: number): MeshSnapshot[] {
    return this.all().filter((s) => now - s.observedAt <= maxAgeMs);
  }

  /** Forgets snapshots older than `maxAgeMs`; returns how many. */
  prune(now: number, maxAgeMs: number): number {
    let removed = 0;
    for (const [key, s] of this.#byUrl) {
      if (now - s.observedAt > maxAgeMs) {
        this.#byUrl.delete(key);
        removed++;
      }
    }
    return removed;
  }

  get size(): number {
    return this.#byUrl.size;
  }
}

function keyOf(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

/**
 * Peer scheduler statuses as this host last heard them, projected by the
 * work this host has already sent their way.
 *
 * A peer's status is only as fresh as its last gossip. Between two status
 * updates, every request redirected to a peer is subtracted from the peer's
 * free capacity here (a shadow reservation), so several redirects in one
 * pass, or in quick succession, do not all pick the same "idle" peer. A newer
 * status from the peer replaces the projection.
 *
 * @module
 */
import type { SchedulerHostStatus } from "./host_status.ts";
import { canEverSatisfy, canRunNow, fitsFree, placementScore } from "./host_status.ts";
import type { SlotRequest } from "./request.ts";
import { normalizeHostUrl } from "./request.ts";

interface PeerEntry {
  /** Local clock when the status arrived; freshness is judged on this clock, not the peer's. */
  receivedAt: number;
  /** The status as received, with shadow reservations applied. */
  projected: SchedulerHostStatus;
}

/** Options of {@linkcode PeerTable}. */
export interface PeerTableOptions {
  /** A status older than this is ignored for redirects and placement. @default 20_000 */
  maxAgeMs?: number;
}

/** Known peers by URL, with freshness and shadow reservations. */
export class PeerTable {
  readonly #peers = new Map<string, PeerEntry>();
  readonly #maxAgeMs: number;

  constructor(options: PeerTableOptions = {}) {
    const { maxAgeMs = 20_000 } = options;
    this.#maxAgeMs = maxAgeMs;
  }

  get maxAgeMs(): number {
    return this.#maxAgeMs;
  }

  /** Stores a peer status unless an equally new one is already known. Returns whether it was taken. */
  update(status: SchedulerHostStatus, receivedAt: number): boolean {
    const url = normalizeHostUrl(status.hostUrl);
    const known = this.#peers.get(url);
    if (known && known.projected.observedAt > status.observedAt) return false;
    this.#peers.set(url, { receivedAt, projected: { ...status, hostUrl: url } });
    return true;
  }

  remove(hostUrl: string): boolean {
    return this.#peers.delete(normalizeHostUrl(hostUrl));
  }

  /** Projected statuses received within `maxAgeMs` of `now`. */
  fresh(now: number): SchedulerHostStatus[] {
    const result: SchedulerHostStatus[] = [];
    for (const entry of this.#peers.values()) {
      if (now - entry.receivedAt <= this.#maxAgeMs) result.push(entry.projected);
    }
    return result;
  }

  /** Projected statuses older than `maxAgeMs`, for rejection reasons. */
  stale(now: number): SchedulerHostStatus[] {
    const result: SchedulerHostStatus[] = [];
    for (const entry of this.#peers.values()) {
      if (now - entry.receivedAt > this.#maxAgeMs) result.push(entry.projected);
    }
    return result;
  }

  /** All projected statuses, fresh or not, for status pages. */
  all(): SchedulerHostStatus[] {
    return [...this.#peers.values()].map((entry) => entry.projected);
  }

  /**
   * Counts a request sent to a peer against its projected capacity until its
   * next status: free resources shrink when it fits there now, else the
   * peer's queue grows by one.
   */
  shadow(hostUrl: string, request: Pick<SlotRequest, "cpuCores" | "memoryBytes" | "tempStorageBytes">): void {
    const entry = this.#peers.get(normalizeHostUrl(hostUrl));
    if (!entry) return;
    const p = entry.projected;
    if (!fitsFree(p, request)) {
      p.queueLength += 1;
      return;
    }
    p.freeCpuCores -= request.cpuCores;
    p.freeMemoryBytes -= request.memoryBytes;
    p.freeTempStorageBytes -= request.tempStorageBytes;
    p.reservedCpuCores += request.cpuCores;
    p.reservedMemoryBytes += request.memoryBytes;
    p.reservedTempStorageBytes += request.tempStorageBytes;
    p.activeLeases += 1;
  }
}

/** Options of {@linkcode chooseRedirectTarget}. */
export interface RedirectTargetOptions {
  /** This host's URL, never a target. */
  selfUrl: string;
  /** Accept peers that can only run the request later (it will queue there). @default false */
  allowQueued?: boolean;
}

/**
 * The best peer to send a request to: one that can run it now (or, with
 * `allowQueued`, ever), preferring not to send it back where it just came
 * from, then by (queue length, most free cores, placement score, name, url).
 */
export function chooseRedirectTarget(
  request: SlotRequest,
  peers: readonly SchedulerHostStatus[],
  options: RedirectTargetOptions,
): SchedulerHostStatus | undefined {
  const { selfUrl, allowQueued = false } = options;
  const self = normalizeHostUrl(selfUrl);
  let best: SchedulerHostStatus | undefined;
  let bestKey: (number | string)[] = [];
  for (const peer of peers) {
    if (peer.hostUrl === self) continue;
    const now = canRunNow(peer, request);
    if (!now.ok && !(allowQueued && peer.errors.length === 0 && canEverSatisfy(peer, request).ok)) continue;
    const key = [
      now.ok ? 0 : 1,
      peer.hostUrl === request.lastRedirectFromHostUrl ? 1 : 0,
      peer.queueLength,
      -peer.freeCpuCores,
      placementScore(peer, request),
      peer.hostName,
      peer.hostUrl,
    ];
    if (!best || compareKeys(key, bestKey) < 0) {
      best = peer;
      bestKey = key;
    }
  }
  return best;
}

function compareKeys(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

/**
 * Ranking of hosts for a compute job's first placement: which hosts could
 * run it, which could not and why, and one deterministic pick.
 *
 * The pick is spread over the best few candidates by a hash of the job's
 * identity, so a burst of jobs placed from the same (momentarily stale) view
 * of the mesh does not all land on the single best host, while a retried
 * placement of the same job picks the same host again.
 *
 * @module
 */
import type { SchedulerHostStatus } from "./host_status.ts";
import { canEverSatisfy, canRunNow, placementScore } from "./host_status.ts";
import type { SlotRequest } from "./request.ts";
import { normalizeHostUrl } from "./request.ts";

/** A host that could run the request. */
export interface HostCandidate {
  hostName: string;
  hostUrl: string;
  /** Lower is better; see `placementScore`. */
  score: number;
  /** False when the host could run it only after waiting in its queue. */
  canRunNow: boolean;
  /** Why it cannot run now, when it cannot. */
  waitReason?: string;
  status: SchedulerHostStatus;
}

/** A host that can never run the request, or must not be used. */
export interface RejectedHost {
  hostName: string;
  hostUrl: string;
  reason: string;
}

/** The answer of a candidate ranking. */
export interface CandidateHosts {
  /** Hosts that can run now first, then by score, name and url. */
  candidates: HostCandidate[];
  rejected: RejectedHost[];
  /** Deterministic pick among the best `sampleSize` candidates. */
  selected: HostCandidate | undefined;
}

/** Options of {@linkcode rankCandidateHosts}. */
export interface RankOptions {
  /** This host's URL, for `includeSelf`. */
  selfUrl: string;
  /** Keep at most this many candidates; 0 keeps all. @default 0 */
  limit?: number;
  /** Whether this host may be a candidate. @default true */
  includeSelf?: boolean;
  /** Score bonus per preferred tag present (capped at 0.75 in total). @default 0.25 */
  preferredTagBonus?: number;
  /** Size of the window of best candidates `selected` is drawn from. @default 3 */
  sampleSize?: number;
}

/**
 * Ranks host statuses for a request.
 *
 * @example
 * ```ts
 * const { candidates, rejected, selected } = rankCandidateHosts(request, statuses, { selfUrl: "http://a:8765" });
 * ```
 */
export function rankCandidateHosts(
  request: SlotRequest,
  statuses: readonly SchedulerHostStatus[],
  options: RankOptions,
): CandidateHosts {
  const { selfUrl, limit = 0, includeSelf = true, preferredTagBonus = 0.25, sampleSize = 3 } = options;
  const self = normalizeHostUrl(selfUrl);
  const candidates: HostCandidate[] = [];
  const rejected: RejectedHost[] = [];
  for (const status of newestPerHost(statuses)) {
    const host = { hostName: status.hostName, hostUrl: normalizeHostUrl(status.hostUrl) };
    if (!includeSelf && host.hostUrl === self) {
      rejected.push({ ...host, reason: "self excluded" });
      continue;
    }
    const ever = canEverSatisfy(status, request);
    if (!ever.ok) {
      rejected.push({ ...host, reason: ever.reason });
      continue;
    }
    if (status.errors.length > 0) {
      rejected.push({ ...host, reason: `host status has errors: ${status.errors.join("; ")}` });
      continue;
    }
    const now = canRunNow(status, request);
    candidates.push({
      ...host,
      score: placementScore(status, request, preferredTagBonus),
      canRunNow: now.ok,
      ...(now.ok ? {} : { waitReason: now.reason }),
      status,
    });
  }
  candidates.sort((a, b) =>
    Number(!a.canRunNow) - Number(!b.canRunNow) || a.score - b.score ||
    a.hostName.localeCompare(b.hostName) || a.hostUrl.localeCompare(b.hostUrl)
  );
  const kept = limit > 0 ? candidates.slice(0, limit) : candidates;
  const window = Math.min(Math.max(1, sampleSize), kept.length);
  const selected = window > 0 ? kept[placementHash(request) % window] : undefined;
  return { candidates: kept, rejected, selected };
}

/** 32-bit FNV-1a of `jobId|requestId|agentId`: stable across hosts and runs. */
export function placementHash(request: Pick<SlotRequest, "jobId" | "requestId" | "agentId">): number {
  const text = `${request.jobId}|${request.requestId}|${request.agentId}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function newestPerHost(statuses: readonly SchedulerHostStatus[]): SchedulerHostStatus[] {
  const byUrl = new Map<string, SchedulerHostStatus>();
  for (const status of statuses) {
    const url = normalizeHostUrl(status.hostUrl);
    const known = byUrl.get(url);
    if (!known || known.observedAt < status.observedAt) byUrl.set(url, status);
  }
  return [...byUrl.values()];
}

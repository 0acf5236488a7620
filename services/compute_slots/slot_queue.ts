/**
 * Requests waiting for a slot on this host, oldest first.
 *
 * "Oldest" is the request's `submittedAt`, which survives redirects: a job
 * that has waited elsewhere keeps its place in line mesh-wide. Ties keep
 * arrival order. One owner (request, agent or job) has at most one entry; a
 * new request from the same owner replaces the old one.
 *
 * @module
 */
import type { SlotRequest } from "./request.ts";
import { sameOwner } from "./request.ts";

/** A queued request with when it joined this host's queue (epoch ms). */
export interface QueuedRequest {
  request: SlotRequest;
  enqueuedAt: number;
}

interface Entry extends QueuedRequest {
  seq: number;
}

/** The wait queue of one scheduler. */
export class SlotQueue {
  #entries: Entry[] = [];
  #seq = 0;
  /** Owner indexes, so replacing an owner's entry does not scan the queue. */
  readonly #byRequest = new Map<string, Entry>();
  readonly #byAgent = new Map<string, Entry>();
  readonly #byJob = new Map<string, Entry>();

  get size(): number {
    return this.#entries.length;
  }

  /** Adds a request in age order, replacing any entry of the same owner. Returns its 1-based position. */
  enqueue(request: SlotRequest, now: number): number {
    this.removeOwner(request);
    const entry: Entry = { request, enqueuedAt: now, seq: this.#seq++ };
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.#entries[mid], entry)) lo = mid + 1;
      else hi = mid;
    }
    this.#entries.splice(lo, 0, entry);
    this.#index(entry, true);
    return lo + 1;
  }

  /** Removes and returns the entries of the same owner as `request`. */
  removeOwner(owner: Pick<SlotRequest, "requestId" | "agentId" | "jobId">): SlotRequest[] {
    const found = new Set<Entry>();
    for (const entry of [this.#byRequest.get(owner.requestId), this.#byAgent.get(owner.agentId)]) {
      if (entry) found.add(entry);
    }
    const byJob = owner.jobId === "" ? undefined : this.#byJob.get(owner.jobId);
    if (byJob) found.add(byJob);
    if (found.size === 0) return [];
    return this.removeWhere((request) => sameOwner(request, owner));
  }

  /** Removes and returns every request matching the predicate, keeping the order of the rest. */
  removeWhere(match: (request: SlotRequest) => boolean): SlotRequest[] {
    const removed: SlotRequest[] = [];
    const kept: Entry[] = [];
    for (const entry of this.#entries) {
      if (match(entry.request)) {
        removed.push(entry.request);
        this.#index(entry, false);
      } else {
        kept.push(entry);
      }
    }
    if (removed.length > 0) this.#entries = kept;
    return removed;
  }

  /** Removes the given request ids in one sweep. */
  removeIds(requestIds: ReadonlySet<string>): void {
    if (requestIds.size > 0) this.removeWhere((request) => requestIds.has(request.requestId));
  }

  #index(entry: Entry, add: boolean): void {
    const { requestId, agentId, jobId } = entry.request;
    const pairs: [Map<string, Entry>, string][] = [[this.#byRequest, requestId], [this.#byAgent, agentId]];
    if (jobId !== "") pairs.push([this.#byJob, jobId]);
    for (const [map, key] of pairs) {
      if (add) map.set(key, entry);
      else if (map.get(key) === entry) map.delete(key);
    }
  }

  /** 1-based position of a request, 0 when not queued. */
  positionOf(requestId: string): number {
    return this.#entries.findIndex((entry) => entry.request.requestId === requestId) + 1;
  }

  /** Queued requests oldest first; the live order, not a copy, so do not modify the queue while iterating. */
  [Symbol.iterator](): IterableIterator<QueuedRequest> {
    return this.#entries.values();
  }

  /** A snapshot of the queue, oldest first. */
  list(): QueuedRequest[] {
    return this.#entries.map(({ request, enqueuedAt }) => ({ request, enqueuedAt }));
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.request.submittedAt < b.request.submittedAt ||
    (a.request.submittedAt === b.request.submittedAt && a.seq < b.seq);
}

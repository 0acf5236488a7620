/**
 * The answers of the slot scheduler: decisions for one request, the outcome
 * of a scheduling pass, cancellation, and the status snapshot.
 *
 * @module
 */
import type { SchedulerHostStatus } from "./host_status.ts";
import type { Lease } from "./lease_table.ts";
import type { SlotRequest } from "./request.ts";
import type { QueuedRequest } from "./slot_queue.ts";
import type { FinishedJobUsage, LeaseUsage } from "./usage_history.ts";

/** A request sent on to a peer. `request` is what to send; `original` is what was queued here. */
export interface Redirect {
  requestId: string;
  targetHostUrl: string;
  targetHostName: string;
  fromHostUrl: string;
  reason: string;
  request: SlotRequest;
  original: SlotRequest;
}

/** A queued request that got a lease in a pass; the service wakes its agent. */
export interface Grant {
  request: SlotRequest;
  lease: Lease;
}

/** The answer to a slot request. */
export type SlotDecision =
  | { decision: "run_now"; requestId: string; lease: Lease; reused: boolean }
  | {
    decision: "sleep";
    requestId: string;
    position: number;
    queueLength: number;
    hostName: string;
    hostUrl: string;
  }
  | ({ decision: "redirect" } & Redirect)
  | { decision: "rejected"; requestId: string; reason: string };

/** What one scheduling pass did. */
export interface PassResult {
  grants: Grant[];
  redirects: Redirect[];
  /** Requests that fit were held back by burst limits: run another pass soon. */
  throttled: boolean;
}

/** Which waiting requests (and optionally leases) to cancel; no filter cancels nothing. */
export interface CancelFilter {
  requestIds?: readonly string[];
  agentIds?: readonly string[];
  jobIds?: readonly string[];
  all?: boolean;
  includeLeases?: boolean;
}

export interface CancelResult {
  cancelledRequests: SlotRequest[];
  releasedLeases: Lease[];
}

/** Everything the scheduler knows, for status pages and the CLI. */
export interface SchedulerSnapshot {
  host: SchedulerHostStatus;
  queue: QueuedRequest[];
  leases: Lease[];
  peers: SchedulerHostStatus[];
  activeUsage: LeaseUsage[];
  finishedUsage: FinishedJobUsage[];
}

/** The predicate a cancel filter stands for; undefined when it has no filter at all (a no-op). */
export function cancelMatcher(
  filter: CancelFilter,
): ((owner: Pick<SlotRequest, "requestId" | "agentId" | "jobId">) => boolean) | undefined {
  const requestIds = new Set(filter.requestIds ?? []);
  const agentIds = new Set(filter.agentIds ?? []);
  const jobIds = new Set(filter.jobIds ?? []);
  if (!filter.all && requestIds.size + agentIds.size + jobIds.size === 0) return undefined;
  return (r) =>
    filter.all === true || requestIds.has(r.requestId) || agentIds.has(r.agentId) ||
    (r.jobId !== "" && jobIds.has(r.jobId));
}

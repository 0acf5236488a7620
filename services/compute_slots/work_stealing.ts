/**
 * Bounded work stealing: waiters of a busy host are offered to peers that
 * can run them now.
 *
 * Bounded on purpose. A budget per pass keeps one waiter local (the anchor)
 * so a host never empties its queue onto peers whose status may be stale; a
 * cooldown per request stops ping-pong between hosts; every redirect is
 * counted against the target's projected capacity at once (shadow
 * reservation), so several redirects in one pass spread over peers instead
 * of all choosing the same one.
 *
 * @module
 */
import type { Redirect } from "./decisions.ts";
import type { SchedulerHostStatus } from "./host_status.ts";
import type { PeerTable } from "./peer_table.ts";
import { chooseRedirectTarget } from "./peer_table.ts";
import type { SlotRequest } from "./request.ts";
import type { QueuedRequest } from "./slot_queue.ts";

/** Builds the redirect of a request to a target and shadows it on the target's projected status. */
export function redirectTo(
  request: SlotRequest,
  target: SchedulerHostStatus,
  context: { peers: PeerTable; selfUrl: string; now: number; reason: string },
): Redirect {
  const { peers, selfUrl, now, reason } = context;
  peers.shadow(target.hostUrl, request);
  return {
    requestId: request.requestId,
    targetHostUrl: target.hostUrl,
    targetHostName: target.hostName,
    fromHostUrl: selfUrl,
    reason,
    request: {
      ...request,
      redirectCount: request.redirectCount + 1,
      lastRedirectAt: now,
      lastRedirectFromHostUrl: selfUrl,
    },
    original: request,
  };
}

/** Inputs of {@linkcode planWorkStealing}. */
export interface WorkStealingInput {
  /** The local queue, oldest first. */
  queue: Iterable<QueuedRequest>;
  peers: PeerTable;
  /** Redirects allowed in this pass (see `redirectBudget`). */
  budget: number;
  selfUrl: string;
  now: number;
  /** True for waiters that will run here soon anyway (they fit, only burst limits held them). */
  runsHere: (request: SlotRequest) => boolean;
  /** True for waiters redirected too recently to move again. */
  inCooldown: (request: SlotRequest) => boolean;
}

/** Picks up to `budget` waiters, oldest first, and a fresh peer that can run each now. */
export function planWorkStealing(input: WorkStealingInput): Redirect[] {
  const { queue, peers, budget, selfUrl, now, runsHere, inCooldown } = input;
  if (budget <= 0) return [];
  let open = peers.fresh(now).filter((p) => p.errors.length === 0 && p.freeCpuCores > 0);
  const redirects: Redirect[] = [];
  for (const { request } of queue) {
    if (open.length === 0 || redirects.length >= budget) break;
    if (inCooldown(request) || runsHere(request)) continue;
    const target = chooseRedirectTarget(request, open, { selfUrl });
    if (!target) continue;
    redirects.push(
      redirectTo(request, target, { peers, selfUrl, now, reason: "work stealing: peer can run it now" }),
    );
    if (target.freeCpuCores === 0) open = open.filter((p) => p.freeCpuCores > 0);
  }
  return redirects;
}

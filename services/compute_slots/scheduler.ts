/**
 * The compute-slots scheduler of one host: admission, the wait queue, leases,
 * and bounded work stealing towards peers.
 *
 * It is a pure, synchronous core with an injected clock and no timers: the
 * resident service calls {@linkcode SlotScheduler.pass} whenever something
 * changed (a request, a release, a new host or peer sample), so a freed slot
 * is handed out at once instead of on the next tick. A pass grants oldest
 * fit (`oldest_fit.ts`), then offers some waiters to peers that can run them
 * now (`work_stealing.ts`).
 *
 * @module
 */
import type { CandidateHosts, RankOptions, RejectedHost } from "./candidates.ts";
import type {
  CancelFilter,
  CancelResult,
  Grant,
  PassResult,
  Redirect,
  SchedulerSnapshot,
  SlotDecision,
} from "./decisions.ts";
import { cancelMatcher } from "./decisions.ts";
import { BurstGate } from "./burst_gate.ts";
import { rankCandidateHosts } from "./candidates.ts";
import { elasticMasks } from "./elastic_affinity.ts";
import type { HostSample, SchedulerHostStatus } from "./host_status.ts";
import { buildHostStatus, canEverSatisfy, fitsFree, GPU_NOT_SUPPORTED } from "./host_status.ts";
import { grantOldestFit } from "./oldest_fit.ts";
import type { FinishReason, Lease, SweepResult } from "./lease_table.ts";
import { LeaseTable } from "./lease_table.ts";
import { chooseRedirectTarget, PeerTable } from "./peer_table.ts";
import type { SlotRequest } from "./request.ts";
import { normalizeHostUrl } from "./request.ts";
import type { SchedulerConfig, SlotSchedulerOptions } from "./scheduler_options.ts";
import { redirectBudget, schedulerConfig } from "./scheduler_options.ts";
import { SlotQueue } from "./slot_queue.ts";
import { UsageHistory } from "./usage_history.ts";
import { planWorkStealing, redirectTo } from "./work_stealing.ts";

export type { SlotSchedulerOptions };

/**
 * The scheduler of one host.
 *
 * @example
 * ```ts
 * const scheduler = new SlotScheduler({ host: sample, now: () => clock });
 * const decision = scheduler.request(normalizeSlotRequest({ agentId: "job-1", cpuCores: 2 }));
 * // later, when the job ends:
 * scheduler.release(decision.decision === "run_now" ? decision.lease.leaseId : "job-1");
 * const { grants, redirects } = scheduler.pass();
 * ```
 */
export class SlotScheduler {
  /** Usage of running and finished leases; the host records samples into it. */
  readonly usage: UsageHistory;
  readonly #config: SchedulerConfig;
  readonly #leases: LeaseTable;
  readonly #queue = new SlotQueue();
  readonly #peers: PeerTable;
  readonly #granted = new Map<string, SlotRequest>();
  #host: HostSample;
  readonly #burst: BurstGate;

  constructor(options: SlotSchedulerOptions) {
    this.#config = schedulerConfig(options);
    this.#host = { ...options.host };
    this.#leases = new LeaseTable({
      eligibleCpuIds: this.#host.eligibleCpuIds,
      extensionMs: this.#config.leaseExtensionMs,
      newLeaseId: this.#config.newLeaseId,
    });
    this.#peers = new PeerTable({ maxAgeMs: this.#config.peerMaxAgeMs });
    this.usage = new UsageHistory({ limit: this.#config.usageHistoryLimit });
    this.#burst = new BurstGate(this.#config.burstLoadPerCpu);
    this.#burst.observe(this.#host);
  }

  get #selfUrl(): string {
    return normalizeHostUrl(this.#host.hostUrl);
  }

  /** Takes a new resource sample of the local host. */
  observeHost(sample: HostSample): void {
    this.#host = { ...sample };
    this.#burst.observe(sample);
    this.#leases.setEligibleCpuIds(sample.eligibleCpuIds);
  }

  /** The latest sample has no measure of the cores other processes keep busy (see {@link observeOtherCpu}). */
  get otherCpuUnknown(): boolean {
    return this.#host.otherCpuBusy === undefined;
  }

  /**
   * Completes the latest sample with the cores other processes keep busy, measured since: the burst
   * gate then paces grants by them and the reservations instead of the load average.
   */
  observeOtherCpu(cores: number): void {
    this.observeHost({ ...this.#host, otherCpuBusy: cores, observedAt: this.#config.now() });
  }

  /** Takes a peer's status (gossip or a live call); older than the known one is ignored. */
  observePeer(status: SchedulerHostStatus): boolean {
    if (normalizeHostUrl(status.hostUrl) === this.#selfUrl) return false;
    return this.#peers.update(status, this.#config.now());
  }

  forgetPeer(hostUrl: string): boolean {
    return this.#peers.remove(hostUrl);
  }

  /** This host's status with reservations, as peers and placement see it. */
  hostStatus(): SchedulerHostStatus {
    return buildHostStatus(this.#host, {
      queueLength: this.#queue.size,
      activeLeases: this.#leases.size,
      reservedCpuCores: this.#leases.reservedCpuCores,
      reservedMemoryBytes: this.#leases.reservedMemoryBytes,
      reservedTempStorageBytes: this.#leases.reservedTempStorageBytes,
      freeCpuCores: this.#freeCpuCores(),
    });
  }

  /**
   * Decides a slot request: the owner's existing lease again, a grant now, a
   * redirect to a peer that can run it now, a place in the queue, or a
   * rejection with the reason. Call {@linkcode pass} afterwards.
   */
  request(request: SlotRequest): SlotDecision {
    const now = this.#config.now();
    const existing = this.#leases.forOwner(request);
    if (existing) {
      return { decision: "run_now", requestId: existing.requestId, lease: copy(existing), reused: true };
    }
    this.#queue.removeOwner(request);
    const local = this.hostStatus();
    const ever = canEverSatisfy(local, request);
    if (!ever.ok) {
      if (request.requiresGpu) {
        return { decision: "rejected", requestId: request.requestId, reason: GPU_NOT_SUPPORTED };
      }
      const target = chooseRedirectTarget(request, this.#peers.fresh(now), {
        selfUrl: this.#selfUrl,
        allowQueued: true,
      });
      if (!target) return { decision: "rejected", requestId: request.requestId, reason: ever.reason };
      return {
        decision: "redirect",
        ...this.#redirect(request, target, now, `cannot run here: ${ever.reason}`),
      };
    }
    const fits = local.errors.length === 0 && fitsFree(local, request);
    // Granted at once when no older waiter fits: the grant the next pass would make first, which
    // burst limits never hold (they pace a pass's further grants).
    if (fits && !this.#olderWaiterFits(request, local)) {
      const lease = this.#grant(request, now);
      if (lease) {
        return { decision: "run_now", requestId: request.requestId, lease: copy(lease), reused: false };
      }
    }
    if (!fits && !this.#inCooldown(request, now)) {
      const target = chooseRedirectTarget(request, this.#peers.fresh(now), { selfUrl: this.#selfUrl });
      if (target) {
        return { decision: "redirect", ...this.#redirect(request, target, now, "peer can run it now") };
      }
    }
    const position = this.#queue.enqueue(request, now);
    return {
      decision: "sleep",
      requestId: request.requestId,
      position,
      queueLength: this.#queue.size,
      hostName: this.#host.hostName,
      hostUrl: this.#selfUrl,
    };
  }

  /** Releases a lease by lease id, or every lease of an agent id. Call {@linkcode pass} afterwards. */
  release(leaseOrAgentId: string, reason: FinishReason = "released"): Lease[] {
    const lease = this.#leases.get(leaseOrAgentId);
    const leases = lease ? [lease] : this.#leases.forAgent(leaseOrAgentId);
    return leases.map((l) => this.#finish(this.#leases.release(l.leaseId)!, reason));
  }

  /** One scheduling pass: oldest-fit grants under burst limits, then bounded work stealing. */
  pass(): PassResult {
    const now = this.#config.now();
    const { grants, throttled } = this.#grantPass(now);
    return { grants, redirects: this.#stealPass(now), throttled };
  }

  /** Cancels waiting requests (and with `includeLeases` their leases) matching any filter. */
  cancel(filter: CancelFilter): CancelResult {
    const result: CancelResult = { cancelledRequests: [], releasedLeases: [] };
    const match = cancelMatcher(filter);
    if (!match) return result;
    result.cancelledRequests = this.#queue.removeWhere(match);
    if (filter.includeLeases) {
      for (const lease of this.#leases.list().filter(match)) {
        result.releasedLeases.push(this.#finish(this.#leases.release(lease.leaseId)!, "cancelled"));
      }
    }
    return result;
  }

  /** Extends expired leases of live agents, drops leases of gone agents. Call {@linkcode pass} afterwards. */
  sweepLeases(isAlive: (lease: Lease) => boolean = this.#config.isAgentAlive): SweepResult {
    const result = this.#leases.sweep(this.#config.now(), isAlive);
    result.expired.forEach((lease) => this.#finish(lease, "expired"));
    result.inactive.forEach((lease) => this.#finish(lease, "inactive"));
    return result;
  }

  /** Rolls back a grant whose wake-up could not be delivered: the request waits again. */
  undoGrant(leaseId: string): boolean {
    const lease = this.#leases.release(leaseId);
    if (!lease) return false;
    const request = this.#granted.get(leaseId);
    this.#granted.delete(leaseId);
    this.usage.discard(leaseId);
    this.#burst.released(lease.cpuCores);
    if (request) this.#queue.enqueue(request, this.#config.now());
    return true;
  }

  /** Rolls back a redirect that could not be delivered; the cooldown restarts so the peer is not hammered. */
  undoRedirect(redirect: Redirect): void {
    const now = this.#config.now();
    this.#queue.enqueue({ ...redirect.original, lastRedirectAt: now }, now);
  }

  /** Ranks this host and peers (`peers`, or the fresh known ones) for a request's placement. */
  candidateHosts(
    request: SlotRequest,
    peers?: readonly SchedulerHostStatus[],
    options: Omit<RankOptions, "selfUrl"> = {},
  ): CandidateHosts {
    const now = this.#config.now();
    const stale: RejectedHost[] = [];
    if (!peers) {
      for (const s of this.#peers.stale(now)) {
        stale.push({ hostName: s.hostName, hostUrl: s.hostUrl, reason: "status is stale" });
      }
    }
    const others = (peers ?? this.#peers.fresh(now)).filter((s) =>
      normalizeHostUrl(s.hostUrl) !== this.#selfUrl
    );
    const ranked = rankCandidateHosts(request, [...others, this.hostStatus()], {
      ...options,
      selfUrl: this.#selfUrl,
    });
    ranked.rejected.push(...stale);
    return ranked;
  }

  /** A lease by id (a copy), or undefined. */
  lease(leaseId: string): Lease | undefined {
    const lease = this.#leases.get(leaseId);
    return lease && copy(lease);
  }

  /** The leases in grant order (copies); cheaper than {@linkcode status} with a long queue. */
  leases(): Lease[] {
    return this.#leases.list().map(copy);
  }

  /** Requests waiting here. */
  get queueLength(): number {
    return this.#queue.size;
  }

  /** Elastic CPU masks of the current leases (see `elastic_affinity.ts`). */
  elasticMasks(): Map<string, number[]> {
    return elasticMasks(this.#leases.list(), this.#host.eligibleCpuIds);
  }

  status(): SchedulerSnapshot {
    return {
      host: this.hostStatus(),
      queue: this.#queue.list(),
      leases: this.#leases.list().map(copy),
      peers: this.#peers.all().map((p) => ({ ...p })),
      activeUsage: this.usage.active(),
      finishedUsage: this.usage.finished(),
    };
  }

  /** The next time something changes without an event (lease expiry, end of a redirect cooldown). */
  nextDeadline(): number | undefined {
    const now = this.#config.now();
    let next = this.#leases.nextExpiryAt();
    for (const { request } of this.#queue) {
      const end = request.lastRedirectAt + this.#config.redirectCooldownMs;
      if (request.lastRedirectAt > 0 && end > now && (next === undefined || end < next)) next = end;
    }
    return next;
  }

  #freeCpuCores(): number {
    const { maxActiveLeases } = this.#config;
    if (maxActiveLeases > 0 && this.#leases.size >= maxActiveLeases) return 0;
    return this.#leases.freeCpuCores();
  }

  #burstAllows(): boolean {
    return this.#burst.allows(this.#leases.reservedCpuCores);
  }

  #olderWaiterFits(request: SlotRequest, local: SchedulerHostStatus): boolean {
    for (const { request: waiting } of this.#queue) {
      if (waiting.submittedAt > request.submittedAt) return false;
      if (fitsFree(local, waiting)) return true;
    }
    return false;
  }

  #inCooldown(request: SlotRequest, now: number): boolean {
    return request.lastRedirectAt > 0 && now - request.lastRedirectAt < this.#config.redirectCooldownMs;
  }

  #grant(request: SlotRequest, now: number): Lease | undefined {
    const lease = this.#leases.grant(request, now);
    if (!lease) return undefined;
    this.#granted.set(lease.leaseId, request);
    this.#burst.granted(lease.cpuCores);
    this.usage.start(lease);
    return lease;
  }

  #finish(lease: Lease, reason: FinishReason): Lease {
    this.#granted.delete(lease.leaseId);
    this.#burst.released(lease.cpuCores);
    this.usage.finish(lease.leaseId, reason, this.#config.now());
    return copy(lease);
  }

  #grantPass(now: number): { grants: Grant[]; throttled: boolean } {
    if (this.#queue.size === 0) return { grants: [], throttled: false };
    const result = grantOldestFit({
      queue: this.#queue,
      local: this.hostStatus(),
      maxGrants: this.#config.maxGrantsPerPass,
      burstAllows: () => this.#burstAllows(),
      grant: (request) => this.#grant(request, now),
      freeCpuCores: () => this.#freeCpuCores(),
    });
    this.#queue.removeIds(new Set(result.grants.map((g) => g.request.requestId)));
    result.grants = result.grants.map((g) => ({ request: g.request, lease: copy(g.lease) }));
    return result;
  }

  #stealPass(now: number): Redirect[] {
    const { maxRedirectFraction, maxRedirectsPerPass } = this.#config;
    const local = this.hostStatus();
    const redirects = planWorkStealing({
      queue: this.#queue,
      peers: this.#peers,
      budget: redirectBudget(this.#queue.size, maxRedirectFraction, maxRedirectsPerPass),
      selfUrl: this.#selfUrl,
      now,
      runsHere: (r) => local.errors.length === 0 && fitsFree(local, r),
      inCooldown: (r) => this.#inCooldown(r, now),
    });
    this.#queue.removeIds(new Set(redirects.map((r) => r.requestId)));
    return redirects;
  }

  #redirect(request: SlotRequest, target: SchedulerHostStatus, now: number, reason: string): Redirect {
    return redirectTo(request, target, { peers: this.#peers, selfUrl: this.#selfUrl, now, reason });
  }
}

function copy(lease: Lease): Lease {
  return { ...lease, cpuIds: [...lease.cpuIds] };
}

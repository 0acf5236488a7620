/**
 * The running compute-slots service of one host: the pure {@linkcode SlotScheduler} wired to
 * events, time, the mesh and the host's compute workers.
 *
 * Event-driven: a request, a release, a cancel, a gone agent or a peer status runs a scheduling
 * pass at once (coalesced per turn of the event loop), so a freed slot goes to the next waiter in
 * milliseconds. One timer covers what has no event (lease expiry, the end of a redirect
 * cooldown); a slower one re-samples the host (which also releases burst throttling).
 *
 * Leases end when their step ends (`releaseLease`), when the job releases them, and at once when
 * their agent is gone from this host (the runtime's `onGone`: dispose, crash, move; a lease whose
 * step runs also when the agent is deactivated or its worker replaced). The TTL sweep
 * is the safety net; it extends leases whose agent is still alive.
 *
 * @module
 */
import type { ComputeStepOutcome } from "../../agents/context.ts";
import { PagletError } from "../../agents/errors.ts";
import { affinitySupport } from "../../host/compute/affinity.ts";
import type { ServiceCall } from "../contract.ts";
import type { ServiceHost } from "../service_host.ts";
import type { CountersWire, SlotDecisionWire, StatusReply } from "./contract.ts";
import type { CancelFilter, Grant, Redirect } from "./decisions.ts";
import { deliverToJob } from "./delivery.ts";
import type { FinishReason, Lease } from "./lease_table.ts";
import { sampleHost } from "./probes.ts";
import { OtherCpuMeter } from "./other_cpu.ts";
import { SlotScheduler } from "./scheduler.ts";
import { checkStep, type Config, decisionWire, emptyCounters, slotRequestFrom } from "./service_config.ts";
import { StatusGossip } from "./status_gossip.ts";
import { StepRunner } from "./step_runner.ts";
import { UsageSampler } from "./usage_sampler.ts";
import { cancel, later, type Timer } from "../../agents/timers.ts";

/** The compute-slots service of one host. */
export class SlotService {
  readonly scheduler: SlotScheduler;
  readonly steps: StepRunner;
  readonly counters: CountersWire = emptyCounters();
  readonly gossip: StatusGossip;
  readonly usage: UsageSampler;
  readonly #host: ServiceHost;
  readonly #otherCpu: OtherCpuMeter;
  readonly #config: Config;
  /** Peer URL → local time its status last arrived. */
  readonly #peerSeenAt = new Map<string, number>();
  /** Peers the mesh lists online, as of the last gossip round (null before the first). */
  #reachable: Set<string> | null = null;
  readonly #timers = new Set<Timer>();
  #deadlineTimer: Timer | undefined;
  #deadlineAt = Infinity;
  #passQueued = false;
  #retryTimer: Timer | undefined;
  #stopped = false;
  #unsubscribe: () => void = () => {};

  private constructor(host: ServiceHost, config: Config, scheduler: SlotScheduler, otherCpu: OtherCpuMeter) {
    this.#host = host;
    this.#otherCpu = otherCpu;
    this.#config = config;
    this.scheduler = scheduler;
    this.steps = new StepRunner({
      maxIdleWorkers: Math.max(1, host.info.cpuCount),
      computeNice: config.computeNice,
    });
    this.usage = new UsageSampler(scheduler.usage, {
      intervalMs: config.usageSampleIntervalMs,
      workDirOf: (agentId) => host.kernel.workDirs.pathOf(agentId),
    });
    this.gossip = new StatusGossip(host, {
      intervalMs: config.gossipIntervalMs,
      fanOut: config.fanOut,
      timeoutMs: config.peerTimeoutMs,
    }, {
      status: () => this.hostStatus(),
      observe: (status) => this.observePeer(status),
      reachable: (urls) => this.#onlinePeers(urls),
    });
  }

  /**
   * Samples the host and starts timers, gossip and the runtime hook. `otherCpu` measures other
   * processes' CPU from its last sample on (by default from when its module loaded).
   */
  static async start(
    host: ServiceHost,
    config: Config,
    otherCpu = new OtherCpuMeter(),
  ): Promise<SlotService> {
    const scheduler = new SlotScheduler({ ...config.scheduler, host: await sampleHost(host, otherCpu) });
    const service = new SlotService(host, config, scheduler, otherCpu);
    service.#begin();
    return service;
  }

  #begin(): void {
    this.steps.onStray = (stray) =>
      this.#host.events.emit("compute-thread-stray", {
        agentId: stray.agentId,
        error: `the compute thread ${stray.tid} of an ended step still runs (a loop Deno cannot ` +
          `interrupt): it runs ${stray.idle.ok ? "at idle priority" : `on (${stray.idle.error})`} on CPU ` +
          `${stray.cpuIds.join(",")} until its loop ends, or else until the host restarts`,
        data: { tid: stray.tid, cpuIds: stray.cpuIds, leaseId: stray.leaseId, idle: stray.idle.ok },
      });
    const gone = (id: string, why: string) => this.#agentGone(id, why);
    this.#host.kernel.runtime.onGone.add(gone);
    this.#unsubscribe = () => this.#host.kernel.runtime.onGone.delete(gone);
    this.#every(this.#config.sampleIntervalMs, () => this.#resample());
    this.#every(this.#config.sweepIntervalMs, () => this.#sweep());
    this.#every(this.#config.usageSampleIntervalMs, () => this.usage.sampleRunning(this.steps));
    this.gossip.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    for (const timer of this.#timers) cancel(timer);
    cancel(this.#deadlineTimer);
    cancel(this.#retryTimer);
    this.steps.close();
    await this.gossip.stop();
  }

  /** This host's status, stamped now (reservations change between resource samples). */
  hostStatus() {
    return { ...this.scheduler.hostStatus(), observedAt: Date.now() };
  }

  // --- operations ---------------------------------------------------------------------------

  requestSlot(input: unknown, call: ServiceCall): SlotDecisionWire {
    const raw = (input && typeof input === "object" ? { ...input as Record<string, unknown> } : input) as
      | Record<string, unknown>
      | unknown;
    if (raw && typeof raw === "object" && call.via === "context" && call.agentId) {
      const r = raw as Record<string, unknown>;
      r.agentId ??= call.agentId;
      if (!r.agentHostUrl) r.agentHostUrl = this.#host.info.url;
    }
    const request = slotRequestFrom(raw);
    this.counters.requests++;
    this.#measureOtherCpu();
    const decision = this.scheduler.request(request);
    switch (decision.decision) {
      case "run_now":
        if (!decision.reused) this.counters.grantedAtOnce++;
        break;
      case "sleep":
        this.counters.queued++;
        break;
      case "redirect":
        this.counters.redirectedAtRequest++;
        break;
      case "rejected":
        this.counters.rejected++;
    }
    this.#changed();
    return decisionWire(decision);
  }

  /**
   * The sample taken when the service starts covers the time since its code loaded, often under the
   * 30 ms the other-process meter needs (other_cpu.ts), and the burst gate then falls back to the
   * load average, which lags a minute behind: right after other work on the machine (an earlier run
   * of the same job) it held back a second grant on an idle host until the next sample, 2 s later.
   * A request (or a status read: the Pi coordinator places its batches by it) measures again while
   * the sample has no such figure; by then the window is long enough.
   */
  #measureOtherCpu(): void {
    if (!this.scheduler.otherCpuUnknown) return;
    const cores = this.#otherCpu.sample();
    if (cores !== undefined) this.scheduler.observeOtherCpu(cores);
  }

  releaseSlot(leaseId: string, agentId: string): Lease[] {
    const released = [
      ...(leaseId ? this.#release(leaseId, "released") : []),
      ...(agentId ? this.#release(agentId, "released") : []),
    ];
    return released;
  }

  /**
   * `abort-step`: ends the step tagged `tag` under the agent's lease, or refuses it when it starts
   * (it may still wait in the agent's mailbox). The lease stays with the agent.
   */
  abortStep(leaseId: string, agentId: string, tag: string): "running" | "pending" {
    const lease = this.scheduler.lease(leaseId);
    if (!lease || lease.agentId !== agentId) {
      throw new PagletError(
        "lease_not_found",
        `No compute lease '${leaseId}' held by agent ${agentId} on ${this.#host.info.name}`,
      );
    }
    const reason = new PagletError("step_aborted", `The step '${tag}' was ended on request`);
    return this.steps.abortTagged(leaseId, tag, reason) ? "running" : "pending";
  }

  cancel(filter: CancelFilter) {
    const result = this.scheduler.cancel(filter);
    for (const lease of result.releasedLeases) this.#endSteps(lease);
    this.counters.cancelled += result.cancelledRequests.length + result.releasedLeases.length;
    if (result.cancelledRequests.length + result.releasedLeases.length > 0) this.#changed();
    return result;
  }

  observePeer(status: Parameters<SlotScheduler["observePeer"]>[0]): boolean {
    if (this.#stopped) return false;
    // A host this one cannot call (offline, or refusing its API key: `unauthorized` in the mesh)
    // may still push its status here; placing work there would fail, so it is not taken.
    if (this.#reachable && !this.#reachable.has(status.hostUrl.replace(/\/+$/, ""))) return false;
    const taken = this.scheduler.observePeer(status);
    if (taken) {
      this.#peerSeenAt.set(status.hostUrl.replace(/\/+$/, ""), Date.now());
      if (this.scheduler.queueLength > 0) this.#schedulePass();
    }
    return taken;
  }

  /** The mesh's online peers changed: forget the statuses of those no longer among them. */
  #onlinePeers(urls: Set<string>): void {
    this.#reachable = urls;
    for (const url of this.#peerSeenAt.keys()) {
      if (!urls.has(url)) {
        this.scheduler.forgetPeer(url);
        this.#peerSeenAt.delete(url);
      }
    }
  }

  async candidateHosts(input: {
    request: Record<string, unknown>;
    limit: number;
    includeSelf: boolean;
    sampleSize: number;
    refresh: boolean;
  }) {
    const request = slotRequestFrom({ agentId: "candidate-probe", ...input.request });
    const maxAgeMs = this.#config.scheduler.peerMaxAgeMs ?? 20_000;
    const errors = input.refresh
      ? await this.gossip.refresh((url) => this.#peerSeenAt.get(url.replace(/\/+$/, "")), maxAgeMs)
      : {};
    const ranked = this.scheduler.candidateHosts(request, undefined, {
      limit: input.limit,
      includeSelf: input.includeSelf,
      sampleSize: input.sampleSize,
    });
    return {
      candidates: ranked.candidates,
      rejected: ranked.rejected,
      selected: ranked.selected ?? null,
      errors,
    };
  }

  status(options: {
    includeQueue: boolean;
    includeLeases: boolean;
    includeUsage: boolean;
    includeHistory: boolean;
    includePeers: boolean;
    historyLimit: number;
  }): StatusReply {
    this.#measureOtherCpu();
    const reply: StatusReply = {
      host: this.hostStatus(),
      counters: { ...this.counters },
      settings: {
        burstLoadPerCpu: this.#config.scheduler.burstLoadPerCpu ?? 1.0,
        maxGrantsPerPass: this.#config.scheduler.maxGrantsPerPass ?? 4,
        redirectCooldownMs: this.#config.scheduler.redirectCooldownMs ?? 60_000,
        elasticAffinity: this.#config.elasticAffinity,
        ...(affinitySupport().error ? { affinityError: affinitySupport().error } : {}),
      },
    };
    if (options.includeQueue || options.includePeers) {
      const snapshot = this.scheduler.status();
      if (options.includeQueue) {
        reply.queue = snapshot.queue.map((q, i) => ({ ...q, position: i + 1 }));
      }
      if (options.includePeers) {
        const now = Date.now();
        const maxAge = this.#config.scheduler.peerMaxAgeMs ?? 20_000;
        reply.peers = snapshot.peers.map((p) => ({
          ...p,
          fresh: now - (this.#peerSeenAt.get(p.hostUrl) ?? 0) <= maxAge,
        }));
      }
    }
    if (options.includeLeases) {
      reply.leases = this.scheduler.leases().map((lease) => {
        const step = this.steps.get(lease.leaseId);
        return {
          ...lease,
          running: step !== undefined,
          ...(step?.tid === undefined ? {} : { tid: step.tid, mask: [...step.mask] }),
        };
      });
    }
    if (options.includeUsage) reply.activeUsage = this.scheduler.usage.active();
    if (options.includeHistory) {
      const finished = this.scheduler.usage.finished();
      reply.finishedUsage = options.historyLimit > 0 ? finished.slice(-options.historyLimit) : finished;
    }
    return reply;
  }

  /**
   * `compute.run`: runs a step under a lease the agent holds, pinned to the lease's CPU ids. The step
   * starts once the agent's state is stored as it was when it asked: an agent brought back from its
   * stored state (a crash of the host, its worker replaced) finds there what it did before the step
   * (a compute job: RUNNING), never an older state that knows of no step. Unless the disk is full.
   */
  async runStep(agentId: string, input: unknown): Promise<ComputeStepOutcome> {
    const step = checkStep(input);
    this.#leaseFor(step.leaseId, agentId);
    await this.#host.kernel.runtime.storeState(agentId).catch((err) => {
      const error = PagletError.from(err);
      // A full disk does not hold the step back: nothing of the agent can be stored then, whatever
      // it does, and after a crash it comes back from its last stored state, as from any change.
      if (error.code === "insufficient_storage") return;
      throw new PagletError(
        error.code,
        `The compute step of ${agentId} did not start: its state could not be stored: ${error.message}`,
      );
    });
    const lease = this.#leaseFor(step.leaseId, agentId);
    if (step.usagePaths?.length) this.scheduler.usage.declarePaths(lease.leaseId, step.usagePaths);
    this.counters.stepsStarted++;
    // Whether the step ended as its lease's step: one that a newer step under the lease replaced
    // (or one refused at its start) leaves the lease to that step, which its release would end.
    let current = false;
    try {
      const outcome = await this.steps.run(lease, agentId, step, {
        onPinned: () => this.#applyMasks(),
        onEnd: (running) => {
          current = true;
          this.usage.finalSample(running);
        },
      });
      this.counters.stepsSucceeded++;
      return outcome;
    } catch (err) {
      const error = PagletError.from(err);
      if (error.code !== "draining") this.counters.stepsFailed++;
      throw error;
    } finally {
      if (step.releaseLease && current && !this.#stopped) {
        const declared = this.scheduler.usage.get(lease.leaseId)?.declaredPaths ?? [];
        this.#release(lease.leaseId, "released");
        void this.usage.measureFinished(lease.leaseId, agentId, declared);
      }
      this.#host.kernel.runtime.touch(agentId);
    }
  }

  /** The lease `leaseId` of `agentId`, while the service runs; else `draining` or `lease_not_found`. */
  #leaseFor(leaseId: string, agentId: string): Lease {
    if (this.#stopped) throw new PagletError("draining", "compute-slots is shutting down");
    const lease = this.scheduler.lease(leaseId);
    if (!lease || lease.agentId !== agentId) {
      throw new PagletError(
        "lease_not_found",
        `No compute lease '${leaseId}' held by agent ${agentId} on ${this.#host.info.name}`,
      );
    }
    return lease;
  }

  // --- scheduling -----------------------------------------------------------------------------

  /** A lease ended: its step (if one runs) ends too. */
  #endSteps(lease: Lease): void {
    this.steps.abort(lease.leaseId, cancelled(lease));
    this.steps.forget(lease.leaseId);
  }

  /** Releases a lease (or every lease of an agent) and schedules a pass. */
  #release(leaseOrAgentId: string, reason: FinishReason): Lease[] {
    const released = this.scheduler.release(leaseOrAgentId, reason);
    if (released.length === 0) return released;
    for (const lease of released) this.#endSteps(lease);
    if (reason === "released") this.counters.released += released.length;
    else this.counters.droppedGone += released.length;
    this.#changed();
    return released;
  }

  /** Something changed: pass soon (this turn), keep masks, deadline and peers up to date. */
  #changed(): void {
    this.#schedulePass();
  }

  #schedulePass(): void {
    if (this.#passQueued || this.#stopped) return;
    this.#passQueued = true;
    queueMicrotask(() => {
      this.#passQueued = false;
      if (!this.#stopped) this.#pass();
    });
  }

  #pass(): void {
    const { grants, redirects, throttled } = this.scheduler.pass();
    this.counters.passes++;
    for (const grant of grants) {
      this.counters.grantedFromQueue++;
      void this.#deliverGrant(grant);
    }
    for (const redirect of redirects) void this.#deliverRedirect(redirect);
    if (throttled) this.#retrySoon(250);
    const reserved = this.scheduler.hostStatus().reservedCpuCores;
    if (reserved > this.counters.maxReservedCpuCores) this.counters.maxReservedCpuCores = reserved;
    this.#applyMasks();
    this.#armDeadline();
    this.gossip.changed();
  }

  /** Burst limits held a fitting waiter back: take a fresh sample a little later and pass again. */
  #retrySoon(ms: number): void {
    if (this.#retryTimer !== undefined || this.#stopped) return;
    this.#retryTimer = later(ms, () => {
      this.#retryTimer = undefined;
      void this.#resample();
    });
  }

  async #deliverGrant({ lease, request }: Grant): Promise<void> {
    const outcome = await deliverToJob(
      this.#host,
      lease.agentId,
      lease.agentHostUrl,
      "compute_slot_granted",
      {
        leaseId: lease.leaseId,
        requestId: lease.requestId,
        cpuIds: lease.cpuIds,
        cpuCores: lease.cpuCores,
        grantedAt: lease.grantedAt,
        expiresAt: lease.expiresAt,
        hostName: this.#host.info.name,
        hostUrl: this.#host.info.url,
      },
      { stillWanted: () => !this.#stopped && this.scheduler.lease(lease.leaseId) !== undefined },
    );
    if (outcome.kind === "accepted" || this.#stopped || !this.scheduler.lease(lease.leaseId)) return;
    this.counters.deliveryFailures++;
    this.#host.events.emit("compute-slot-delivery-failed", {
      agentId: lease.agentId,
      data: { kind: "grant", leaseId: lease.leaseId, outcome: outcome.kind, jobId: request.jobId },
      error: outcome.reason,
    });
    if (outcome.kind === "failed") {
      // Could not reach the job now: it waits again (after a pause, so a failing wake-up cannot spin).
      this.scheduler.undoGrant(lease.leaseId);
      this.#retrySoon(1000);
    } else {
      this.#release(lease.leaseId, outcome.kind === "gone" ? "inactive" : "cancelled");
    }
  }

  async #deliverRedirect(redirect: Redirect): Promise<void> {
    const { original, request } = redirect;
    const outcome = await deliverToJob(
      this.#host,
      original.agentId,
      original.agentHostUrl,
      "compute_slot_redirect",
      {
        requestId: redirect.requestId,
        targetHostUrl: redirect.targetHostUrl,
        targetHostName: redirect.targetHostName,
        fromHostUrl: redirect.fromHostUrl,
        reason: redirect.reason,
        redirectCount: request.redirectCount,
        lastRedirectAt: request.lastRedirectAt,
        lastRedirectFromHostUrl: request.lastRedirectFromHostUrl,
      },
      { stillWanted: () => !this.#stopped },
    );
    if (outcome.kind === "accepted") {
      this.counters.redirectedFromQueue++;
      this.#host.events.emit("compute-slot-redirect", {
        agentId: original.agentId,
        data: { requestId: redirect.requestId, target: redirect.targetHostUrl, reason: redirect.reason },
      });
      return;
    }
    if (this.#stopped) return;
    this.counters.deliveryFailures++;
    // A job that is gone or declined (it got a slot meanwhile) leaves the queue; one we could not
    // reach waits here again, with a fresh cooldown.
    if (outcome.kind === "failed") {
      this.scheduler.undoRedirect(redirect);
      this.#changed();
    }
  }

  /** Whether an agent still counts as alive for its lease (see `LeaseTable.sweep`). */
  async #alive(lease: Lease, now: number): Promise<boolean> {
    const runtime = this.#host.kernel.runtime;
    if (this.steps.get(lease.leaseId) || runtime.isLive(lease.agentId)) return true;
    if (lease.agentHostUrl && !this.#host.isSelf(lease.agentHostUrl)) return lease.expiresAt > now;
    if (lease.expiresAt <= now) return false; // expired and not running: an inactive holder lets go
    if (runtime.isHeld(lease.agentId)) return true;
    const record = await this.#host.store.get(lease.agentId).catch(() => null);
    return record !== null && (record.status === "active" || record.status === "inactive");
  }

  async #sweep(): Promise<void> {
    if (this.#stopped) return;
    const now = Date.now();
    const leases = this.scheduler.leases();
    const alive = new Set<string>();
    for (const lease of leases) if (await this.#alive(lease, now)) alive.add(lease.leaseId);
    if (this.#stopped) return;
    const result = this.scheduler.sweepLeases((lease) => alive.has(lease.leaseId));
    for (const lease of [...result.expired, ...result.inactive]) {
      this.#endSteps(lease);
    }
    this.counters.expired += result.expired.length;
    this.counters.droppedGone += result.inactive.length;
    this.#changed();
  }

  /** The deadline timer: sweep at lease expiry, pass when a redirect cooldown ends. */
  #armDeadline(): void {
    const next = this.scheduler.nextDeadline();
    if (next === undefined) {
      cancel(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
      this.#deadlineAt = Infinity;
      return;
    }
    if (this.#deadlineTimer !== undefined && next >= this.#deadlineAt) return;
    cancel(this.#deadlineTimer);
    this.#deadlineAt = next;
    this.#deadlineTimer = later(Math.max(0, next - Date.now()) + 5, () => {
      this.#deadlineTimer = undefined;
      this.#deadlineAt = Infinity;
      void this.#sweep();
    });
  }

  async #resample(): Promise<void> {
    if (this.#stopped) return;
    try {
      this.scheduler.observeHost(await sampleHost(this.#host, this.#otherCpu));
    } catch (err) {
      this.#host.events.emit("compute-slots-sample-failed", { error: PagletError.from(err).message });
      return;
    }
    if (this.scheduler.queueLength > 0) this.#schedulePass();
    else this.gossip.changed();
  }

  // --- agents leaving -------------------------------------------------------------------------

  #agentGone(agentId: string, why: string): void {
    if (this.#stopped) return;
    if (why === "deactivate" || why === "worker-replaced") {
      // A sleeping job keeps its place; a running step of an agent that went inactive ends with its
      // lease, and so does one whose worker was replaced: its result could reach no one, and the
      // agent, back from its stored state, asks for a slot again.
      for (const lease of this.scheduler.leases()) {
        if (lease.agentId === agentId && this.steps.get(lease.leaseId)) {
          this.#release(lease.leaseId, "inactive");
        }
      }
      return;
    }
    this.#release(agentId, why === "dispose" ? "cancelled" : "inactive");
    const { cancelledRequests } = this.scheduler.cancel({ agentIds: [agentId] });
    if (cancelledRequests.length > 0) {
      this.counters.cancelled += cancelledRequests.length;
      this.#changed();
    }
  }

  // --- affinity ---------------------------------------------------------------------

  #applyMasks(): void {
    if (this.steps.running.length === 0) return;
    const masks = this.#config.elasticAffinity ? this.scheduler.elasticMasks() : new Map<string, number[]>();
    this.steps.applyMasks(masks);
  }

  /** Runs `fn` every `intervalMs` (never overlapping itself) until stopped. */
  #every(intervalMs: number, fn: () => Promise<unknown>): void {
    const tick = async () => {
      this.#timers.delete(timer);
      if (this.#stopped) return;
      await fn().catch(() => {});
      if (this.#stopped) return;
      timer = later(intervalMs, tick);
      this.#timers.add(timer);
    };
    let timer = later(intervalMs, tick);
    this.#timers.add(timer);
  }
}

function cancelled(lease: Lease): PagletError {
  return new PagletError("agent_not_found", `The lease ${lease.leaseId} of agent ${lease.agentId} ended`);
}

/**
 * `ComputeJobPaglet`: a paglet that runs one compute step under a compute-slots lease, wherever
 * the mesh has room for it.
 *
 * The application writes a state (estimates plus its own fields), `runComputeJob()` and, when it
 * needs them, `continueAfterComputeSuccess()` and `afterComputeFailure(message)`. The base class
 * owns everything else: home-host capture, placement (compute-slots `candidate-hosts`), dispatch to
 * the chosen host, the local slot request, sleeping (deactivated) until `compute_slot_granted`,
 * redirects, lease release, bounded retries of scheduler calls that may pass (`driverRetryLimit`),
 * and the state machine
 * NEW → PLACING → WAITING_FOR_SLOT → RUNNING → COMPLETED | FAILED_FINAL.
 *
 * `runComputeJob()` runs in a compute worker thread pinned to the lease's CPU ids, not in the
 * paglet's worker: on a fresh instance with a copy of the state and without a host context. The
 * fields it writes into `this.state` are taken over when it returns (the base class's own fields
 * excepted), so the paglet keeps answering messages while it computes.
 *
 * @example
 * ```ts
 * import { ComputeJobPaglet, computeJobDefaults, computeJobSchema, type ComputeJobState } from "paglets";
 * import { z } from "zod";
 *
 * interface SumState extends ComputeJobState { n: number; sum: number }
 *
 * export class SumJob extends ComputeJobPaglet<SumState> {
 *   static override readonly type = "example.sum";
 *   static override readonly stateSchema = computeJobSchema({ n: z.number().int().min(0) });
 *   override initialState(): SumState {
 *     return { ...computeJobDefaults({ memoryBytes: 64 * 2 ** 20, estimatedRuntimeSeconds: 5 }), n: 1e8, sum: 0 };
 *   }
 *   override runComputeJob() {        // in a pinned compute worker
 *     let sum = 0;
 *     for (let i = 0; i < this.state.n; i++) sum += i;
 *     this.state.sum = sum;
 *   }
 *   override async continueAfterComputeSuccess() {   // back in the paglet, with a context
 *     await this.notifyUser("info", "sum done", `sum = ${this.state.sum}`);
 *   }
 * }
 * ```
 *
 * @module
 */
import { mayPass, PagletError } from "./errors.ts";
import type { ComputeStepAffinity } from "./context.ts";
import type { Message } from "./message.ts";
import { type LifecycleEvent, Paglet, type PagletClass } from "./paglet.ts";
import { moduleUrlOf } from "./type_registry.ts";
import { findNonPlainData } from "./wire.ts";
import { later } from "./timers.ts";
import { interruptionOf } from "./activation_reasons.ts";
import { AwakeSchedule } from "./awake_schedule.ts";
import { COMPUTE_JOB_STEP_EXPORT, type ComputeJobStepArgs } from "./compute_step.ts";
import {
  type DriverRetry,
  nextDriverRetry,
  nextPrepareRetry,
  nextSlotTryAt,
  resetDriverRetries,
  resetPrepareRetries,
  retriesInARow,
} from "./compute_job_retries.ts";
import {
  COMPUTE_JOB_KEYS,
  computeJobIdOf,
  type ComputeJobState,
  type ComputeStatus,
  slotRequestOf,
} from "./compute_job_state.ts";

const STEP_MODULE = new URL("./compute_step.ts", import.meta.url).href;

/** The compute-slots service name. */
const SLOTS = "compute-slots";
/** What a grant message or a `run_now` decision carries. */
interface GrantInfo {
  leaseId: string;
  cpuIds: number[];
}

/** What a redirect (message or decision) carries. */
interface RedirectInfo {
  targetHostUrl: string;
  targetHostName?: string;
  redirectCount?: number;
  lastRedirectAt?: number;
  lastRedirectFromHostUrl?: string;
  reason?: string;
}

/** The reply to a scheduler message: whether the job took it. */
export interface SchedulerMessageReply {
  accepted: boolean;
  /** Not now: the job is about to go to sleep; send it again once it is inactive. */
  retry?: boolean;
  reason?: string;
}

/** The answer of `compute_status`. */
export interface ComputeJobSummary {
  agentId: string;
  jobId: string;
  computeStatus: ComputeStatus;
  computeError: string;
  hostName: string;
  hostUrl: string;
  homeHostName: string;
  slotRequestId: string;
  slotLeaseId: string;
  cpuCoreIds: number[];
  redirectCount: number;
  computeAttempts: number;
  /**
   * Retries in a row after failures that may pass, of the driver's scheduler calls and of
   * `prepareCompute()`, and the last of those failures.
   */
  driverRetries: number;
  driverError: string;
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The static side of a compute job class. */
export interface ComputeJobClass extends PagletClass {
  /** Module that exports the class, when the host cannot tell (it usually can). */
  readonly computeModuleUrl?: string;
}

/** Base class of compute jobs; see the module documentation. */
export abstract class ComputeJobPaglet<S extends ComputeJobState = ComputeJobState> extends Paglet<S> {
  /**
   * The module that exports this class, for the compute worker to import. Hosts know it for types
   * they loaded; set it (`= import.meta.url`) only if a step fails saying it cannot find the module.
   */
  static readonly computeModuleUrl?: string;

  /** Steps the job's driver is in; one driver per instance. */
  #driving = false;
  #again = false;
  /** A lease this instance got (decision or grant message) and has not used yet. */
  #grant: GrantInfo | null = null;
  #redirect: RedirectInfo | null = null;
  /** The instance is going to sleep or leaving the host: it takes no more work. */
  #leaving = false;
  #computing = false;
  #continued = false;
  /** Hosts a dispatch to failed during this instance's placement. */
  /** Hosts a dispatch to failed, with why (the reason travels into the job's final error). */
  /** Hosts this instance failed to dispatch to: why, and whether that may pass (an unreachable host). */
  readonly #unreachable = new Map<string, { why: string; transient: boolean }>();
  /** This instance was activated by a message (a grant or redirect, usually): its queue entry stands. */
  #wokenByMessage = false;
  /** Why this instance was activated (the host's reason), if it was: what interrupted a step. */
  #activation: string | undefined;
  /**
   * This instance was woken (activated, or arrived on another host): the next step of each of its
   * schedules ({@link awakeSchedule}) is due at once.
   */
  #woken = false;
  /** Its tries to ask for a slot and sleep, kept to when it cannot sleep (`slotNextTryAt`). */
  readonly #slotTries = this.awakeSchedule();

  /**
   * The compute step. Runs in a compute worker pinned to the lease's CPU ids, on a fresh instance
   * with a copy of the state and no host context; write results into `this.state`.
   */
  abstract runComputeJob(): void | Promise<void>;

  /**
   * Runs in the paglet, with its context, on the host where the step is about to run, once the
   * lease is granted: fetch the step's inputs there (`this.context.downloadArtifact(ref, {path})`
   * into the work dir, which the step reads through `this.context.workDir()`). A throw fails the job; the lease is
   * released. Runs again at each attempt (a step retried after its host stopped).
   */
  prepareCompute(): void | Promise<void> {}

  /**
   * Runs after the compute step succeeded (the job is COMPLETED), and again on every later
   * activation of the completed job (e.g. timed wake-ups while waiting for its home host).
   */
  continueAfterComputeSuccess(): void | Promise<void> {}

  /** Runs once when the job fails for good (FAILED_FINAL); the lease is already released. */
  afterComputeFailure(_message: string): void | Promise<void> {}

  /** Files or folders whose size the host samples while the step runs (usage history). */
  computeUsagePaths(): string[] | Promise<string[]> {
    return [];
  }

  /** Messages of the application; the scheduler's own messages never reach it. */
  onJobMessage(message: Message): unknown {
    return this.notHandled(message);
  }

  /** The job id the scheduler and result labels use. */
  computeJobId(): string {
    return computeJobIdOf(this.state, this.id);
  }

  /** Whether the job is on the host it was created on. */
  isComputeHome(): boolean {
    return !this.state.homeHostUrl || sameUrl(this.state.homeHostUrl, this.host.url);
  }

  /** Notifies the people watching, on the job's home host; never throws. */
  notifyUser(severity: "info" | "warning" | "error", title: string, text: string): Promise<boolean> {
    return this.context.notifyUser(severity, title, text, {
      jobId: this.computeJobId(),
      ...(this.state.homeHostUrl ? { homeHost: this.state.homeHostUrl } : {}),
    });
  }

  /** Scheduling status for people and scripts (`compute_status` message). */
  computeSummary(): ComputeJobSummary {
    const s = this.state;
    return {
      agentId: this.id,
      jobId: this.computeJobId(),
      computeStatus: s.computeStatus,
      computeError: s.computeError,
      hostName: this.host.name,
      hostUrl: this.host.url,
      homeHostName: s.homeHostName,
      slotRequestId: s.slotRequestId,
      slotLeaseId: s.slotLeaseId,
      cpuCoreIds: [...s.cpuCoreIds],
      redirectCount: s.redirectCount,
      computeAttempts: s.computeAttempts,
      driverRetries: retriesInARow(s),
      driverError: s.driverError ?? "",
    };
  }

  /**
   * Refuses a job that no host of the mesh could ever run (more cores, memory or temp storage than
   * any host has, a tag no host carries): the create fails with `invalid_request` and each host's
   * reason, instead of a job that is accepted and fails at once. Hosts whose status is not known
   * yet, or has errors, do not count against it, nor does an offline host the job's wishes allow
   * (placement waits for it as its `placementWaitSeconds` say). Subclasses that override it must call
   * `super.onCreation(event)`.
   */
  override async onCreation(_event: LifecycleEvent): Promise<void> {
    const reply = await this.#call("candidate-hosts", {
      request: slotRequestOf(this.state, this.id, this.computeJobId()),
      limit: 0,
      includeSelf: true,
    }) as { candidates: unknown[]; rejected: { hostName: string; reason: string }[] };
    const never = reply.rejected.filter((r) => !r.reason.startsWith("host status has errors"));
    if (reply.candidates.length > 0 || never.length === 0 || never.length < reply.rejected.length) return;
    // An offline host the job's wishes allow has no status here either: it may come back for the job.
    if (await this.#hostMayCome(reply.rejected)) return;
    throw new PagletError(
      "invalid_request",
      `No host of the mesh can ever run this job: ${
        never.map((r) => `${r.hostName}: ${r.reason}`).join("; ")
      }`,
    );
  }

  /**
   * A schedule of the job's tries (a slot asked for, a report sent) that it keeps to awake when its
   * host cannot store it asleep, and that its wake-ups ({@link onActivation}, {@link onArrival})
   * make due at once: for subclasses' own tries, as the job keeps its slot requests.
   */
  protected awakeSchedule(): AwakeSchedule {
    return new AwakeSchedule(() => this.context, () => this.#woken);
  }

  /** Notes why the job woke up; subclasses that override it must call `super.onActivation(event)`. */
  override onActivation(event: LifecycleEvent): void | Promise<void> {
    this.#wokenByMessage = event.reason === "message";
    this.#activation = event.reason ?? "";
    this.#woken = true;
  }

  /**
   * Arrived on another host (moved or retracted by hand while it waited): its next step is due here
   * at once, not at the time its schedule set where it was. Subclasses that override it must call
   * `super.onArrival(event)`.
   */
  override onArrival(_event: LifecycleEvent): void | Promise<void> {
    this.#woken = true;
  }

  /** Advances the job; subclasses that override run() must call `super.run()`. */
  override run(): void {
    this.#kick();
  }

  /** Scheduler messages first; everything else goes to {@link onJobMessage}. */
  override onMessage(message: Message): unknown {
    switch (message.kind) {
      case "compute_slot_granted":
        return this.#granted(message.args);
      case "compute_slot_redirect":
        return this.#redirected(message.args);
      case "compute_status":
        return this.computeSummary();
      default:
        return this.onJobMessage(message);
    }
  }

  #granted(args: Record<string, unknown>): SchedulerMessageReply {
    const leaseId = String(args.leaseId ?? "");
    if (!leaseId) throw new PagletError("invalid_request", "compute_slot_granted needs a leaseId");
    if (this.#leaving) return { accepted: false, retry: true, reason: "the job is going to sleep" };
    if (this.#grant && this.#grant.leaseId !== leaseId) {
      return { accepted: false, reason: `the job already holds lease ${this.#grant.leaseId}` };
    }
    if (this.state.computeStatus === "COMPLETED" || this.state.computeStatus === "FAILED_FINAL") {
      return { accepted: false, reason: `the job is ${this.state.computeStatus}` };
    }
    this.#grant = { leaseId, cpuIds: Array.isArray(args.cpuIds) ? args.cpuIds.map(Number) : [] };
    this.#kick();
    return { accepted: true };
  }

  #redirected(args: Record<string, unknown>): SchedulerMessageReply {
    const targetHostUrl = String(args.targetHostUrl ?? "");
    if (!targetHostUrl) {
      throw new PagletError("invalid_request", "compute_slot_redirect needs a targetHostUrl");
    }
    if (this.#leaving) return { accepted: false, retry: true, reason: "the job is going to sleep" };
    const status = this.state.computeStatus;
    if (this.#grant || this.#computing || (status !== "WAITING_FOR_SLOT" && status !== "PLACING")) {
      return { accepted: false, reason: `the job is ${status} and keeps its place` };
    }
    this.#redirect = args as unknown as RedirectInfo;
    this.#kick();
    return { accepted: true };
  }

  /** Runs the driver, or asks the running one for another round. */
  #kick(): void {
    if (this.#driving) {
      this.#again = true;
      return;
    }
    this.#driving = true;
    void (async () => {
      try {
        do {
          this.#again = false;
          while (!this.#leaving && await this.#step());
        } while (this.#again && !this.#leaving);
      } finally {
        // In the same turn as the last look at #again: a kick from a handler that runs in a
        // microtask after it (a message queued behind an async handler) starts a new driver
        // instead of asking one that has already ended (a grant or redirect lost for good).
        this.#driving = false;
      }
    })().catch((err) => this.#driverFailed(err)).catch(() => {/* the instance is gone */});
  }

  /**
   * A round of the driver ended in an error. One that may pass (the host's services starting or
   * stopping, compute-slots not answering in time) is tried again after a growing pause, up to
   * `driverRetryLimit` times in a row (compute_job_retries.ts); past that, or at any other error,
   * the job fails.
   */
  async #driverFailed(err: unknown): Promise<void> {
    // The instance left meanwhile (a host stop deactivates it; it goes on where it comes back).
    if (!this.context.isCurrent()) return;
    if (!mayPass(err)) return await this.#fail(`compute job driver failed: ${errorText(err)}`);
    const s = this.state;
    const next = nextDriverRetry(s, err as PagletError);
    this.notifyStateChanged();
    await this.#retryOrFail(next, s.driverRetries, "compute job driver tries again");
  }

  /**
   * After a failure that may pass (compute_job_retries.ts): fails the job past the limit, else
   * kicks the driver again after the pause. The first retry of a run (`retries` 1) is said to the
   * people watching; the state shows each one (driverRetries, prepareRetries, driverError).
   */
  async #retryOrFail(next: DriverRetry, retries: number, what: string): Promise<void> {
    if (!next.retry) return await this.#fail(next.error);
    if (retries === 1) {
      this.#emitNote(
        `${what} in ${next.pauseMs / 1000} s (at most ${this.state.driverRetryLimit} times in a row): ` +
          this.state.driverError,
      );
    }
    later(next.pauseMs, () => {
      if (this.context.isCurrent()) this.#kick();
    }, { ref: false });
  }

  /** One transition; true when another one may follow at once. */
  async #step(): Promise<boolean> {
    const s = this.state;
    switch (s.computeStatus) {
      case "NEW":
        if (!s.homeHostUrl) {
          s.homeHostName = this.host.name;
          s.homeHostUrl = this.host.url;
        }
        if (s.slotSubmittedAt === 0) s.slotSubmittedAt = Date.now();
        this.#set("PLACING");
        return true;
      case "PLACING":
      case "WAITING_FOR_SLOT":
        return await this.#place();
      case "RUNNING":
        if (this.#computing) return false;
        if (this.#grant) return await this.#compute(this.#grant);
        return this.#interrupted();
      case "COMPLETED":
        if (this.#continued) return false;
        this.#continued = true;
        try {
          await this.continueAfterComputeSuccess();
        } catch (err) {
          // The compute result stands; the continuation runs again at the next activation.
          s.computeError = `continueAfterComputeSuccess failed: ${errorText(err)}`;
          this.#emitNote(s.computeError);
        }
        return false;
      default:
        return false;
    }
  }

  /** PLACING / WAITING_FOR_SLOT: use a lease, follow a redirect, pick a host, or ask for a slot. */
  async #place(): Promise<boolean> {
    const s = this.state;
    if (this.#grant) {
      this.#set("RUNNING");
      return true;
    }
    if (this.#redirect) return await this.#follow(this.#redirect);
    // Woken by a message while waiting: the request is still queued here and the grant (or the
    // redirect) is that message or follows it; asking again would only cost a round trip.
    if (s.computeStatus === "WAITING_FOR_SLOT" && this.#wokenByMessage) return false;
    // Started again by its host without a wake-up, its next try not due: it could not be stored
    // asleep (a full disk, say), and its request is still queued. It waits for its grant awake and
    // asks again on schedule, rather than ask, fail to sleep, and be started again, in a loop.
    const due = s.slotNextTryAt ?? 0;
    if (s.computeStatus === "WAITING_FOR_SLOT" && this.#slotTries.defers(due, () => this.#kick())) {
      return false;
    }
    // A job waits on the host it is on; that host may have come back under another URL (a restart
    // on another port) or the job was moved meanwhile: it asks here, not at the URL it slept at.
    if (s.computeStatus === "WAITING_FOR_SLOT") s.selectedHostUrl = this.host.url;
    if (!s.selectedHostUrl) {
      const selected = await this.#selectHost();
      if (!selected) return false;
      s.selectedHostUrl = selected;
    }
    if (!sameUrl(s.selectedHostUrl, this.host.url)) return await this.#moveTo(s.selectedHostUrl);
    return await this.#requestSlot();
  }

  async #selectHost(): Promise<string | null> {
    const s = this.state;
    const reply = await this.#call("candidate-hosts", {
      request: slotRequestOf(s, this.id, this.computeJobId()),
      limit: s.candidateLimit,
      includeSelf: s.allowHomeCompute || !this.isComputeHome(),
    }) as {
      candidates: { hostUrl: string; hostName: string }[];
      rejected: { hostName: string; reason: string }[];
      selected: { hostUrl: string } | null;
    };
    const usable = reply.candidates.filter((c) => !this.#unreachable.has(c.hostUrl));
    const selected = reply.selected && !this.#unreachable.has(reply.selected.hostUrl)
      ? reply.selected.hostUrl
      : usable[0]?.hostUrl;
    // The wait for a host ends when the job gets to ask one for a slot (#requestSlot), not when
    // one is picked: a pick whose dispatch fails again must not restart the wait's clock.
    if (selected) return selected;
    const why = [
      ...reply.rejected.map((r) => `${r.hostName}: ${r.reason}`),
      ...[...this.#unreachable].map(([url, u]) => `${url}: dispatch failed: ${u.why}`),
    ];
    const reasons = why.length ? ` (${why.join("; ")})` : "";
    const waitMs = (s.placementWaitSeconds ?? 120) * 1000;
    const since = s.placementWaitingSince || Date.now();
    if (Date.now() - since < waitMs && await this.#hostMayCome(reply.rejected)) {
      const first = !s.placementWaitingSince;
      s.placementWaitingSince = since;
      await this.#waitForHost(since + waitMs, reasons, first);
      return null;
    }
    const waited = s.placementWaitingSince ? ` within ${s.placementWaitSeconds ?? 120} s` : "";
    await this.#fail(`no suitable compute host${waited}${reasons}`);
    return null;
  }

  /**
   * Whether a host may yet take the job: a dispatch failed for want of an answer, a host's status
   * has errors, or a host of the mesh is offline that the job's wishes allow (its tags and names;
   * not its home unless `allowHomeCompute`) and that has CPUs enough for it. Hosts that answered
   * and refused are no such cause.
   */
  async #hostMayCome(rejected: { reason: string }[]): Promise<boolean> {
    if ([...this.#unreachable.values()].some((u) => u.transient)) return true;
    if (rejected.some((r) => r.reason.startsWith("host status has errors"))) return true;
    const s = this.state;
    const hosts = await this.context.hosts().catch(() => []);
    return hosts.some((h) =>
      !h.online &&
      (s.allowHomeCompute || !sameUrl(h.url, s.homeHostUrl)) &&
      !s.excludedHostNames.includes(h.name) && !s.excludedHostUrls.some((u) => sameUrl(u, h.url)) &&
      s.requiredHostTags.every((t) => h.tags.includes(t)) &&
      !s.excludedHostTags.some((t) => h.tags.includes(t)) &&
      // Too few CPUs in all (0: a host that did not say) never fits, online or not.
      !(h.cpuCount > 0 && h.cpuCount < s.cpuCores)
    );
  }

  /**
   * Sleeps (inactive, at no cost) until the next look for a host: sooner at first, at most 15 s
   * apart, and not past `deadline`. A new instance looks again, every host worth a new try. The
   * people watching hear of the wait once, at its start.
   */
  async #waitForHost(deadline: number, reasons: string, first: boolean): Promise<void> {
    const now = Date.now();
    const waited = now - this.state.placementWaitingSince;
    const activateAt = Math.min(deadline, now + Math.min(15_000, Math.max(1000, waited / 2)));
    if (first) {
      this.#emitNote(
        `no host to go to yet${reasons}; looking again until ${new Date(deadline).toISOString()}`,
      );
    }
    this.#leaving = true;
    try {
      await this.context.deactivate({
        activateAt,
        activateOnMessage: true,
        queueMessagesWhenInactive: true,
        activateOnStartup: true,
      });
    } catch (err) {
      // Awake with nothing to wake it later: the job would hang in PLACING.
      this.#leaving = false;
      await this.#fail(
        `no suitable compute host${reasons}, and it could not wait for one: ${errorText(err)}`,
      );
    }
  }

  async #moveTo(target: string): Promise<boolean> {
    this.#leaving = true;
    try {
      await this.context.dispatch(target);
      return false; // this instance is gone; the copy there continues in run()
    } catch (err) {
      // Failed once onDispatching ran (unconfirmed, or refused late): the paglet goes on as another
      // instance (on the target, or restarted here), and this one must not place it again.
      if (!this.context.isCurrent()) return false;
      this.#leaving = false;
      this.#unreachable.set(target, {
        why: errorText(err),
        transient: mayPass(err),
      });
      this.state.selectedHostUrl = "";
      this.#emitNote(`dispatch to ${target} failed: ${errorText(err)}`);
      return true;
    }
  }

  async #follow(redirect: RedirectInfo): Promise<boolean> {
    const s = this.state;
    this.#redirect = null;
    s.redirectCount = redirect.redirectCount ?? s.redirectCount + 1;
    s.lastRedirectAt = redirect.lastRedirectAt ?? Date.now();
    s.lastRedirectFromHostUrl = redirect.lastRedirectFromHostUrl ?? this.host.url;
    s.selectedHostUrl = redirect.targetHostUrl;
    this.#set("PLACING");
    return await this.#moveTo(redirect.targetHostUrl);
  }

  async #requestSlot(): Promise<boolean> {
    const s = this.state;
    s.placementWaitingSince = 0; // placed: on a host that may run it
    const decision = await this.#call("request-slot", slotRequestOf(s, this.id, this.computeJobId())) as
      & { decision: "run_now" | "sleep" | "redirect" | "rejected"; requestId: string; reason?: string }
      & { lease?: GrantInfo }
      & RedirectInfo;
    // A scheduler took the request: a run of retries ends here. Not at an answer of candidate-hosts:
    // a pick of a host whose slot request then fails again is no step forward.
    if (resetDriverRetries(s)) this.notifyStateChanged();
    s.slotRequestId = decision.requestId;
    switch (decision.decision) {
      case "run_now":
        this.#grant = { leaseId: decision.lease!.leaseId, cpuIds: decision.lease!.cpuIds };
        this.#set("RUNNING");
        return true;
      case "redirect":
        return await this.#follow(decision);
      case "rejected":
        await this.#fail(`compute slot rejected on ${this.host.name}: ${decision.reason}`);
        return false;
      default:
        return await this.#sleep();
    }
  }

  /**
   * Deactivates until compute-slots sends a grant or a redirect (which activate the job). A job that
   * cannot sleep (its host could not store it: a full disk, say) waits for them awake, and asks
   * again and tries to sleep again at `slotNextTryAt`.
   */
  async #sleep(): Promise<boolean> {
    const s = this.state;
    this.#set("WAITING_FOR_SLOT");
    // A grant that arrived while the request was under way is used at once.
    if (this.#grant || this.#redirect) return true;
    s.slotNextTryAt = nextSlotTryAt(s, Date.now());
    this.#leaving = true;
    const error = await this.#slotTries.sleep(
      {
        activateOnMessage: true,
        queueMessagesWhenInactive: true,
        activateOnStartup: true,
      },
      s.slotNextTryAt,
      () => this.#kick(),
    );
    if (error) {
      this.#leaving = false;
      this.#emitNote(`could not deactivate while waiting for a slot: ${error.message}`);
    }
    return false;
  }

  /**
   * A `prepareCompute()` failed in a way that may pass (an input's host restarting, or unreachable a
   * moment), its lease given back: the job asks for a slot again after a growing pause, at most
   * `driverRetryLimit` times in a row, then fails (compute_job_retries.ts).
   */
  async #prepareFailed(err: PagletError): Promise<boolean> {
    const s = this.state;
    const next = nextPrepareRetry(s, err);
    if (next.retry) {
      s.slotLeaseId = "";
      s.selectedHostUrl = this.host.url;
      this.#wokenByMessage = false; // no request of this job is queued any more: ask again
      this.#set("WAITING_FOR_SLOT");
      this.notifyStateChanged();
    }
    await this.#retryOrFail(next, s.prepareRetries, "prepareCompute failed, asking for a slot again");
    return false;
  }

  /**
   * RUNNING in a new instance without a lease: the host restarted (or crashed) during the step, the
   * job's worker was replaced (which ended the step and its lease), or the job was put to sleep.
   */
  #interrupted(): boolean {
    const s = this.state;
    if (!s.restartRunningOnHostStartup) {
      const what = this.#activation === undefined
        ? "interrupted: the job started again"
        : interruptionOf(this.#activation);
      void this.#fail(`the compute step was ${what} (restartRunningOnHostStartup is off)`);
      return false;
    }
    s.slotLeaseId = "";
    s.selectedHostUrl = this.host.url;
    this.#wokenByMessage = false; // no request of this job is queued any more: ask again
    this.#set("WAITING_FOR_SLOT");
    return true;
  }

  async #compute(grant: GrantInfo): Promise<boolean> {
    const s = this.state;
    const cls = this.constructor as unknown as ComputeJobClass;
    const moduleUrl = cls.computeModuleUrl ?? moduleUrlOf(cls);
    if (!moduleUrl) {
      await this.#release(grant.leaseId);
      await this.#fail(
        `cannot find the module of type '${cls.type}' for its compute step: set static computeModuleUrl = import.meta.url`,
      );
      return false;
    }
    this.#computing = true;
    s.slotNextTryAt = 0;
    s.slotLeaseId = grant.leaseId;
    s.cpuCoreIds = [...grant.cpuIds];
    s.computeHostName = this.host.name;
    s.computeHostUrl = this.host.url;
    s.computeAttempts += 1;
    try {
      await this.prepareCompute();
    } catch (err) {
      this.#computing = false;
      this.#grant = null;
      await this.#release(grant.leaseId);
      if (mayPass(err) && this.context.isCurrent()) return this.#prepareFailed(PagletError.from(err));
      await this.#fail(`prepareCompute failed: ${errorText(err)}`);
      return false;
    }
    resetPrepareRetries(s);
    try {
      const args: ComputeJobStepArgs = {
        moduleUrl,
        type: cls.type,
        agentId: this.id,
        host: this.host,
        state: this.state as unknown as Record<string, unknown>,
        workDir: await this.context.workDir(),
      };
      const outcome = await this.context.runCompute<Record<string, unknown>>({
        leaseId: grant.leaseId,
        moduleUrl: STEP_MODULE,
        exportName: COMPUTE_JOB_STEP_EXPORT,
        args,
        releaseLease: true,
        usagePaths: await this.computeUsagePaths(),
      });
      this.#takeOver(outcome.result);
      this.#recordAffinity(outcome.affinity);
    } catch (err) {
      this.#computing = false;
      const error = PagletError.from(err);
      // The host is shutting down: stay RUNNING and take no more work here; after the restart
      // the job asks for a slot again (see #interrupted).
      if (error.code === "draining" || error.code === "starting" || error.code === "worker_lost") {
        this.#grant = null;
        this.#leaving = true;
        return false;
      }
      this.#grant = null;
      await this.#release(grant.leaseId);
      const affinity = (error.details as { affinity?: ComputeStepAffinity } | undefined)?.affinity;
      if (affinity) this.#recordAffinity(affinity);
      await this.#fail(`compute step failed: ${error.message}`);
      return false;
    }
    this.#computing = false;
    this.#grant = null;
    s.slotLeaseId = "";
    s.computeFinishedAt = Date.now();
    this.#set("COMPLETED");
    this.#continued = false;
    return true; // COMPLETED runs continueAfterComputeSuccess()
  }

  /**
   * Takes over the fields the compute step wrote, except the base class's own. Fields that are not
   * plain data fail the step instead: taken over, they would leave a state that can never be stored
   * (the job would stay RUNNING on disk while its report went nowhere).
   */
  #takeOver(computed: Record<string, unknown>): void {
    const taken = Object.entries(computed ?? {}).filter(([key]) => !COMPUTE_JOB_KEYS.has(key));
    const bad = findNonPlainData(Object.fromEntries(taken));
    if (bad) {
      throw new PagletError("invalid_state", `the step wrote a state that is not plain data at ${bad}`);
    }
    const state = this.state as unknown as Record<string, unknown>;
    for (const [key, value] of taken) state[key] = value;
  }

  #recordAffinity(affinity: ComputeStepAffinity): void {
    const s = this.state;
    s.cpuAffinitySupported = affinity.supported;
    s.cpuAffinityEnforced = affinity.enforced;
    s.cpuAffinityError = affinity.error ?? "";
    s.observedCpus = [...affinity.observedCpus];
  }

  async #release(leaseId: string): Promise<void> {
    if (!leaseId) return;
    await this.#call("release-slot", { leaseId }).catch(() => {/* the lease is gone already */});
  }

  async #fail(message: string): Promise<void> {
    const s = this.state;
    if (s.computeStatus === "FAILED_FINAL") return;
    if (s.slotLeaseId) await this.#release(s.slotLeaseId);
    if (s.slotRequestId) {
      await this.#call("cancel", { requestIds: [s.slotRequestId] }).catch(() => {});
    }
    s.slotLeaseId = "";
    s.computeError = message;
    s.computeFinishedAt = Date.now();
    this.#set("FAILED_FINAL");
    await this.afterComputeFailure(message);
  }

  /** Sets the status; `computeStatusAt` moves only when it changes (a restart re-asking keeps it). */
  #set(status: ComputeStatus): void {
    if (this.state.computeStatus !== status) {
      this.state.computeStatus = status;
      this.state.computeStatusAt = Date.now();
    }
    this.notifyStateChanged();
  }

  #emitNote(text: string): void {
    void this.context.notifyUser("warning", "compute job", text, { jobId: this.computeJobId() });
  }

  #call(op: string, request: unknown): Promise<unknown> {
    return this.context.callService(SLOTS, op, request, {
      timeoutMs: Math.max(100, this.state.schedulerTimeoutSeconds * 1000),
    });
  }
}

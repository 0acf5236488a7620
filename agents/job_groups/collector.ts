/**
 * `ResultCollectorPaglet` (type `paglets.result_collector`): the collector of a job group. It knows
 * which jobs to expect (`register_jobs`), records each job's first report (`job_result`,
 * `job_failure`) and keeps later ones apart as duplicates, answers `summary` and `drain`, notifies
 * user-info when the group is complete, and optionally goes back to its home host then.
 *
 * Its state is the record of the group: it is durable like every paglet state (checkpointed, and
 * saved when its host stops), so a collector whose host restarts comes back with every report it
 * accepted; jobs retry reports it could not accept meanwhile, and a retry of a report that did land
 * (same `reportId`) changes nothing.
 *
 * A submitter registers the jobs it created as it goes and says when it has ended. One that stops
 * before that (a script killed halfway through) leaves jobs that will never exist: once the
 * submission has been silent for `submissionTimeoutSeconds`, the collector records every expected
 * job with neither an agent id nor a report as failed at stage `create`, so the group completes with
 * what it has. The deadline lives in the state (the last registration's time), so a collector that
 * restarts, or arrives elsewhere, keeps to it. Evidence beats that guess: a later registration with
 * an agent id, or a report from the job itself, replaces such a failure.
 *
 * @example
 * ```ts
 * import { callOperation, CollectorSummary } from "paglets";
 * const summary = await callOperation((m) => this.context.send(collectorRef, m), CollectorSummary, {});
 * console.log(`${summary.completedCount}/${summary.expectedCount} done`);
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Message } from "../message.ts";
import { handle, routeOperations } from "../operations.ts";
import { type LifecycleEvent, Paglet } from "../paglet.ts";
import {
  COLLECTOR_STATUSES,
  CollectorDrain,
  CollectorSummary,
  type ExpectedJob,
  JobFailure,
  type JobReport,
  JobResult,
  RegisterJobs,
  type ReportReply,
  ReturnHome,
  SUBMISSION_STATUSES,
} from "./contract.ts";
import {
  collectorDefaults,
  isComplete,
  pendingJobs,
  type ResultCollectorState,
  submissionDeadline,
  summarize,
} from "./summary.ts";
import { cancel, later, sleep, type Timer } from "../timers.ts";

/** The reportId prefix of the failures the collector records for jobs that were never created. */
const NEVER_CREATED = "never-created:";
/** What such a failure says; a reason in parentheses may follow. */
export const NEVER_CREATED_ERROR = "the submission ended before this job was created";

/** Is this the collector's own failure for a job it believes was never created? */
function isNeverCreated(report: JobReport | undefined): boolean {
  return !!report?.reportId.startsWith(NEVER_CREATED);
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The collector of a job group; see the module documentation. */
export class ResultCollectorPaglet extends Paglet<ResultCollectorState> {
  static override readonly type: string = "paglets.result_collector";
  static override readonly stateSchema: z.ZodType = z.object({
    groupId: z.string(),
    status: z.enum(COLLECTOR_STATUSES),
    homeHostUrl: z.string(),
    returnHomeWhenComplete: z.boolean(),
    homeCheckSeconds: z.number().min(0.1, "homeCheckSeconds must be at least 0.1"),
    expectedJobs: z.record(z.unknown()),
    results: z.record(z.unknown()),
    failures: z.record(z.unknown()),
    duplicateReports: z.array(z.unknown()),
    // Optional: states stored before submissions were tracked have neither.
    submissionStatus: z.enum(SUBMISSION_STATUSES).optional(),
    submissionTimeoutSeconds: z.number().min(0.1, "submissionTimeoutSeconds must be at least 0.1").optional(),
    restAfterSeconds: z.number().min(0.1, "restAfterSeconds must be at least 0.1").optional(),
    retentionSeconds: z.number().min(0, "retentionSeconds must be at least 0").optional(),
  }).passthrough();

  /** A try to go home is under way in this instance. */
  #goingHome: Promise<void> | null = null;
  /** Wakes this instance at the submission's deadline; gone with the instance (see run()). */
  #submissionTimer: Timer | undefined;
  /** Puts a complete collector to sleep after a quiet minute (see {@link #restLater}). */
  #restTimer: Timer | undefined;
  /** Why this instance started: a wake-up at the end of the retention removes the collector. */
  #wokenBy = "";

  override initialState(): ResultCollectorState {
    return collectorDefaults();
  }

  override onCreation(_event: LifecycleEvent): void {
    const s = this.state;
    s.createdAt = Date.now();
    if (!s.groupId) s.groupId = `group-${this.id}`;
    if (!s.homeHostUrl) s.homeHostUrl = this.host.url;
    if (!s.homeHostName && this.#atHome()) s.homeHostName = this.host.name;
    if (s.submissionStatus === "SUBMITTING") s.lastRegistrationAt = s.createdAt;
    // A submitter passes the expected keys with the state, so they are known from the first moment.
    for (const job of Object.values(s.expectedJobs)) job.registeredAt ||= s.createdAt;
  }

  override onArrival(_event: LifecycleEvent): void {
    if (!this.#atHome()) return;
    this.state.homeHostName ||= this.host.name;
    if (this.state.status === "RETURNING_HOME") {
      this.state.status = "COMPLETE";
      this.state.returnHomeError = "";
      this.state.nextHomeCheckAt = 0;
    }
  }

  /**
   * Resumes going home after a timed wake-up, a restart or an arrival elsewhere, and watches the
   * deadline of a submission under way (run() follows every start of an instance, so the watch
   * outlives restarts and moves while its timer does not).
   */
  override run(): void {
    if (!this.state.homeHostName) void this.#learnHomeName();
    this.#watchSubmission();
    if (this.#wantsHome()) this.#scheduleReturnHome();
    else if (this.#wokenBy === "timer" && this.#retentionOver()) void this.context.dispose().catch(() => {});
    else this.#restLater();
  }

  /** A home named by URL only (a script's group): its name as the mesh lists it. */
  async #learnHomeName(): Promise<void> {
    const url = this.state.homeHostUrl;
    const hosts = await this.context.hosts().catch(() => []);
    const name = hosts.find((h) => sameUrl(h.url, url))?.name;
    if (name && this.context.isCurrent() && !this.state.homeHostName) {
      this.state.homeHostName = name;
      this.notifyStateChanged();
    }
  }

  override onActivation(event: LifecycleEvent): void {
    this.#wokenBy = event.reason ?? "";
  }

  /** A complete group's record has been kept as long as it asked. */
  #retentionOver(): boolean {
    const s = this.state;
    const keepMs = (s.retentionSeconds ?? 0) * 1000;
    return s.status === "COMPLETE" && keepMs > 0 && Date.now() >= s.completedAt + keepMs;
  }

  /**
   * A complete collector where it belongs sleeps after `restAfterSeconds` without a message: asleep it costs
   * no worker memory, its record stays readable (`jobs groups`), and a message wakes it. It wakes
   * by itself when its retention is over, to be removed.
   */
  #restLater(): void {
    cancel(this.#restTimer);
    if (!this.#mayRest()) return;
    this.#restTimer = later((this.state.restAfterSeconds ?? 60) * 1000, () => {
      if (!this.context.isCurrent() || !this.#mayRest()) return;
      const s = this.state;
      const keepMs = (s.retentionSeconds ?? 0) * 1000;
      void this.context.deactivate({
        activateAt: keepMs > 0 ? s.completedAt + keepMs : null,
        activateOnMessage: true,
        queueMessagesWhenInactive: true,
        activateOnStartup: false,
      }).catch(() => {/* busy or leaving: the next message arms it again */});
    }, { ref: false });
  }

  /**
   * A deactivation by someone else (`paglets agents deactivate`) while a submission is under way
   * is refused unless the collector wakes by the submission's deadline: asleep, it would miss it,
   * and a group whose submitter died would wait for ever. Its own and the host stop's are not.
   */
  override onDeactivating(event: LifecycleEvent): void {
    const deadline = submissionDeadline(this.state);
    const wakesAt = event.policy?.activateAt ?? null;
    if (event.reason === "external" && deadline && (wakesAt === null || wakesAt > deadline)) {
      throw new Error(
        `The collector of group ${this.state.groupId} watches its submission, which gives up at ${
          new Date(deadline).toISOString()
        } without word from its submitter: deactivate it once the submission ended, or with a wake-up ` +
          `no later than that`,
      );
    }
    this.#stopWatching();
    cancel(this.#restTimer);
  }

  override onDispatching(_event: LifecycleEvent): void {
    this.#stopWatching();
    cancel(this.#restTimer);
  }

  override onDisposing(_event: LifecycleEvent): void {
    this.#stopWatching();
    cancel(this.#restTimer);
  }

  /**
   * Complete where it belongs, and watching no submission: a group whose jobs all reported before
   * the submitter said it ended counts as complete, but asleep it would miss the submission's deadline.
   */
  #mayRest(): boolean {
    return this.state.status === "COMPLETE" && !this.#wantsHome() && submissionDeadline(this.state) === 0;
  }

  override onMessage(message: Message): unknown {
    const reply = this.#route(message);
    this.#restLater(); // a quiet spell counts from the last message
    return reply;
  }

  #route(message: Message): unknown {
    return routeOperations(message, [
      handle(CollectorSummary, () => {
        this.#watchSubmission();
        return this.summary();
      }),
      handle(CollectorDrain, () => {
        this.#watchSubmission();
        return this.summary();
      }),
      handle(RegisterJobs, ({ jobs, submissionEnded }) => {
        this.#register(jobs, submissionEnded);
        return {
          expectedCount: Object.keys(this.state.expectedJobs).length,
          pendingCount: pendingJobs(this.state).length,
        };
      }),
      handle(JobResult, (report) => this.#record("result", report)),
      handle(JobFailure, (report) => this.#record("failure", report)),
      handle(ReturnHome, () => {
        if (this.#wantsHome()) this.#scheduleReturnHome();
        const s = this.state;
        return {
          status: s.status,
          returnHomeWhenComplete: s.returnHomeWhenComplete,
          waitingForHome: s.status === "WAITING_FOR_HOME",
          returnHomeError: s.returnHomeError,
        };
      }),
    ]) ?? this.notHandled(message);
  }

  /** The group's summary as this collector sees it now. */
  summary() {
    return summarize(this.state, { agentId: this.id, hostName: this.host.name, hostUrl: this.host.url });
  }

  #register(jobs: ExpectedJob[], submissionEnded: boolean): void {
    const s = this.state;
    const expected = s.expectedJobs;
    const now = Date.now();
    for (const job of jobs) {
      const known = expected[job.jobKey];
      expected[job.jobKey] = {
        jobKey: job.jobKey,
        agentId: job.agentId || known?.agentId || "",
        type: job.type || known?.type || "",
        registeredAt: known?.registeredAt || job.registeredAt || now,
        metadata: { ...known?.metadata, ...job.metadata },
      };
      // The job exists after all (its submitter was slow, not gone): it reports for itself.
      if (job.agentId && isNeverCreated(s.failures[job.jobKey])) delete s.failures[job.jobKey];
    }
    if (s.submissionStatus === "SUBMITTING" || s.submissionStatus === "CUT_SHORT") {
      s.submissionStatus = "SUBMITTING";
      s.lastRegistrationAt = now;
    }
    if (submissionEnded) {
      s.submissionStatus = "SUBMITTED";
      this.#failNeverCreated(NEVER_CREATED_ERROR);
    }
    this.#watchSubmission();
    this.#checkComplete();
  }

  /**
   * Gives up a submission whose deadline has passed, or makes sure a timer looks again then (a
   * registration moves the deadline; the timer finds that out when it fires).
   */
  #watchSubmission(): void {
    const deadline = submissionDeadline(this.state);
    if (!deadline) return this.#stopWatching();
    const left = deadline - Date.now();
    if (left <= 0) {
      this.#stopWatching();
      this.state.submissionStatus = "CUT_SHORT";
      this.#failNeverCreated(
        `${NEVER_CREATED_ERROR} (no word from the submitter for ${this.state.submissionTimeoutSeconds} s)`,
      );
      this.#checkComplete();
      return;
    }
    this.#submissionTimer ??= later(left, () => {
      this.#submissionTimer = undefined;
      this.#watchSubmission();
    });
  }

  #stopWatching(): void {
    cancel(this.#submissionTimer);
    this.#submissionTimer = undefined;
  }

  /** Records every expected job with neither an agent id nor a report as never created. */
  #failNeverCreated(error: string): void {
    const s = this.state;
    const now = Date.now();
    for (const key of pendingJobs(s)) {
      if (s.expectedJobs[key].agentId) continue;
      s.failures[key] = {
        jobKey: key,
        reportId: `${NEVER_CREATED}${key}`,
        groupId: s.groupId,
        agentId: "",
        jobId: key,
        hostName: this.host.name,
        hostUrl: this.host.url,
        reportedAt: now,
        error,
        stage: "create",
      };
    }
  }

  #record(kind: "result" | "failure", report: JobReport): ReportReply {
    const s = this.state;
    const key = report.jobKey;
    const landed = s.results[key]?.reportId === report.reportId ||
      s.failures[key]?.reportId === report.reportId ||
      s.duplicateReports.some((d) => d.report.reportId === report.reportId);
    if (landed) return { accepted: true, duplicate: false, alreadyRecorded: true, complete: isComplete(s) };
    s.lastReportAt = Date.now();
    // A report for a job nobody registered (e.g. one created by hand) is expected from now on.
    s.expectedJobs[key] ??= {
      jobKey: key,
      agentId: report.agentId,
      type: "",
      registeredAt: s.lastReportAt,
      metadata: {},
    };
    if (!s.expectedJobs[key].agentId && report.agentId) s.expectedJobs[key].agentId = report.agentId;
    // The job's own word replaces the collector's guess that it was never created.
    if (isNeverCreated(s.failures[key])) delete s.failures[key];
    if (key in s.results || key in s.failures) {
      s.duplicateReports.push({ kind, receivedAt: s.lastReportAt, report });
      this.notifyStateChanged();
      return { accepted: true, duplicate: true, alreadyRecorded: false, complete: isComplete(s) };
    }
    (kind === "result" ? s.results : s.failures)[key] = report;
    this.#checkComplete();
    return { accepted: true, duplicate: false, alreadyRecorded: false, complete: isComplete(s) };
  }

  #checkComplete(): void {
    const s = this.state;
    if (s.status === "COMPLETE" && !isComplete(s)) {
      // Jobs registered after completion reopen the group.
      s.status = "ACTIVE";
      s.completedAt = 0;
      s.notified = false;
    }
    if (s.status === "ACTIVE" && isComplete(s)) {
      s.status = "COMPLETE";
      s.completedAt = Date.now();
      if (!s.notified) {
        s.notified = true;
        const text = `group ${s.groupId}: ${Object.keys(s.results).length} results, ` +
          `${Object.keys(s.failures).length} failures`;
        void this.context.notifyUser(
          Object.keys(s.failures).length ? "warning" : "info",
          "compute-group.done",
          text,
          { jobId: s.groupId, homeHost: s.homeHostUrl },
        );
      }
      if (this.#wantsHome()) this.#scheduleReturnHome();
    }
    // Complete now, or a submission given up: it may rest (a quiet spell from now).
    this.#restLater();
    this.notifyStateChanged();
  }

  #atHome(): boolean {
    return !this.state.homeHostUrl || sameUrl(this.state.homeHostUrl, this.host.url);
  }

  #wantsHome(): boolean {
    const s = this.state;
    return s.returnHomeWhenComplete && s.status !== "ACTIVE" && !this.#atHome();
  }

  /** Starts going home after the current handler has answered (a move ends this instance). */
  #scheduleReturnHome(): void {
    if (this.#goingHome) return;
    this.#goingHome = sleep(0)
      .then(() => this.#returnHome())
      .catch((err) => {
        this.state.returnHomeError = errorText(err);
      })
      .finally(() => this.#goingHome = null);
  }

  async #returnHome(): Promise<void> {
    const s = this.state;
    if (!this.#wantsHome()) return;
    const online = await this.context.isHostOnline(s.homeHostUrl).catch(() => false);
    if (online) {
      s.status = "RETURNING_HOME";
      this.notifyStateChanged();
      try {
        await this.context.dispatch(s.homeHostUrl);
        return; // the collector continues at home (onArrival)
      } catch (err) {
        if (!this.context.isCurrent()) return; // it goes on as another instance (see dispatch())
        s.returnHomeError = `dispatch to ${s.homeHostUrl} failed: ${errorText(err)}`;
      }
    } else {
      s.returnHomeError = `home host ${s.homeHostName || s.homeHostUrl} is offline`;
    }
    // Sleep (costs nothing) and look again later; a message or a restart wakes it earlier.
    s.status = "WAITING_FOR_HOME";
    s.nextHomeCheckAt = Date.now() + s.homeCheckSeconds * 1000;
    this.notifyStateChanged();
    await this.context.deactivate({
      activateAt: s.nextHomeCheckAt,
      activateOnMessage: true,
      queueMessagesWhenInactive: true,
      activateOnStartup: true,
    });
  }
}

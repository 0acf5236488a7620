/**
 * `CollectingComputeJobPaglet`: a compute job of a group. It runs like any {@link ComputeJobPaglet}
 * (placement by tags, a slot, a pinned compute step) and then reports once to its group's collector:
 * `buildResultPayload()` after success, the error after a failure, or a file uploaded to the
 * collector's host with `reportComputeArtifact()`.
 *
 * A report that cannot be delivered (the collector's host is down, say) stays in the job's state and
 * is tried again with doubling pauses while the job sleeps (deactivated with a wake-up time), also
 * across restarts of the job's own host, at most `reportRetryLimit` times on its schedule
 * (report_schedule.ts; tries made early, when something wakes the job, do not count): then the job
 * gives it up (`UNDELIVERABLE`, `reportError` naming the attempts and the last error, a
 * notification) and keeps it in its state, where a removal of the job sends it once more. Every try
 * carries the same `reportId`, so a report lands once however often it is sent. After the report was
 * accepted the job disposes itself (`disposeAfterReport`, default true).
 *
 * @example
 * ```ts
 * import { CollectingComputeJobPaglet, collectingJobDefaults, collectingJobSchema,
 *   type CollectingComputeJobState, z } from "paglets";
 *
 * interface WordState extends CollectingComputeJobState { text: string; words: number }
 *
 * export class WordCount extends CollectingComputeJobPaglet<WordState> {
 *   static override readonly type = "example.words";
 *   static override readonly stateSchema = collectingJobSchema({ text: z.string() });
 *   override initialState(): WordState {
 *     return { ...collectingJobDefaults({ memoryBytes: 2 ** 20, estimatedRuntimeSeconds: 1 }), text: "", words: 0 };
 *   }
 *   override runComputeJob() { this.state.words = this.state.text.split(/\s+/).filter(Boolean).length; }
 *   override buildResultPayload() { return { words: this.state.words }; }
 * }
 * ```
 *
 * @module
 */
import { basename } from "../paths.ts";
import { ComputeJobPaglet } from "../compute_job.ts";
import type { LifecycleEvent } from "../paglet.ts";
import { insideComputeStep } from "../compute_step.ts";
import { PagletError } from "../errors.ts";
import { findNonPlainData } from "../wire.ts";
import { callOperation } from "../operations.ts";
import { JobFailure, type JobReport, JobResult } from "./contract.ts";
import type { CollectingComputeJobState } from "./collecting_job_state.ts";
import { nextReportTry } from "./report_schedule.ts";
import { removalReport } from "./removal.ts";

/** Options of {@link CollectingComputeJobPaglet.reportComputeArtifact}. */
export interface ArtifactReportOptions {
  /** Fields sent with the artifact reference (`{...result, artifact}`). */
  result?: Record<string, unknown>;
  /** Delete the local file once it was uploaded. @default false */
  move?: boolean;
  /** Name of the artifact. @default the file name */
  name?: string;
}

/** Base class of a group's compute jobs; see the module documentation. */
export abstract class CollectingComputeJobPaglet<
  S extends CollectingComputeJobState = CollectingComputeJobState,
> extends ComputeJobPaglet<S> {
  #delivering: Promise<boolean> | null = null;
  /** The report's tries: a woken instance tries at once; one that cannot sleep keeps to them awake. */
  readonly #tries = this.awakeSchedule();

  /** The JSON-sized result of a successful job, sent to the collector. @default {} */
  buildResultPayload(): unknown {
    return {};
  }

  /**
   * Runs once after the compute step succeeded (and on later wake-ups while the report is on its
   * way): sends `buildResultPayload()`, unless a report was made already (`reportComputeArtifact`,
   * `reportComputeSuccess`).
   */
  async afterComputeSuccess(): Promise<void> {
    if (this.state.reportStatus !== "NONE") return;
    if (this.state.artifactRequest) {
      this.state.reportStatus = "PENDING";
      return;
    }
    let result: unknown;
    try {
      result = await this.buildResultPayload();
    } catch (err) {
      // Nothing would ever send a result for this job: its collector records the failure instead.
      this.#prepare("failure", {
        error: `buildResultPayload() failed: ${PagletError.from(err).message}`,
        stage: "result",
      });
      return;
    }
    this.#prepare("result", { result });
  }

  /** Reports; subclasses that override it must call `super.continueAfterComputeSuccess()`. */
  override async continueAfterComputeSuccess(): Promise<void> {
    await this.afterComputeSuccess();
    await this.#deliver();
  }

  /** Reports the failure; subclasses that override it must call `super.afterComputeFailure(message)`. */
  override async afterComputeFailure(message: string): Promise<void> {
    this.#prepare("failure", { error: message, stage: "compute" });
    await this.#deliver();
  }

  /** Also resumes a failure report after a wake-up (success reports resume through the base). */
  override run(): void {
    super.run();
    if (this.state.computeStatus === "FAILED_FINAL" && this.state.reportStatus === "PENDING") {
      void this.#deliver();
    }
  }

  /**
   * Removed while it runs, before its report was accepted (`paglets agents rm`): the collector is
   * told now, or its group would wait for this job for ever: the report on its way as it is, else a
   * failure at stage `removed` (removal.ts; the host tells it for a job removed asleep). One try:
   * the removal is final either way.
   * Subclasses that override it must call `super.onDisposing(event)`.
   */
  override onDisposing(_event: LifecycleEvent): void {
    const removal = removalReport(this.state, {
      agentId: this.id,
      hostName: this.host.name,
      hostUrl: this.host.url,
    });
    if (!removal) return;
    // Not awaited: the host carries the send out after the disposal, which a slow collector must
    // not hold up (the dispose waits for this hook).
    void callOperation(
      (m) => this.context.send(removal.collector, m, { timeoutMs: removal.timeoutMs }),
      removal.kind === "result" ? JobResult : JobFailure,
      removal.report,
    ).catch(() => {/* out of reach: the group waits for this job as it would have */});
  }

  /**
   * Reports success with `result` (instead of `buildResultPayload()`); false if a report exists.
   * Inside `runComputeJob()` the report is sent right after the step.
   */
  async reportComputeSuccess(result: unknown): Promise<boolean> {
    if (this.state.reportStatus !== "NONE") return false;
    this.#prepare("result", { result });
    return await this.#deliver();
  }

  /** Reports a failure now; false if a report exists. */
  async reportComputeFailure(error: string, details?: unknown): Promise<boolean> {
    if (this.state.reportStatus !== "NONE") return false;
    this.#prepare("failure", { error, stage: "job", ...(details === undefined ? {} : { details }) });
    return await this.#deliver();
  }

  /**
   * Reports a file as the job's result: uploads it to the collector's host (owner: the collector)
   * and sends `{...result, artifact}` with its {@link ArtifactRef}; the default success hook then
   * sends nothing more. Inside `runComputeJob()` (no host there) it notes the file, and the job
   * uploads and reports it right after the step.
   */
  async reportComputeArtifact(path: string, options: ArtifactReportOptions = {}): Promise<void> {
    if (this.state.reportStatus !== "NONE" || this.state.artifactRequest) {
      throw new PagletError("state_conflict", `job ${this.state.jobKey} has reported already`);
    }
    this.state.artifactRequest = {
      path,
      name: options.name ?? basename(path),
      move: options.move ?? false,
      result: options.result ?? {},
    };
    this.state.reportStatus = "PENDING";
    await this.#deliver();
  }

  #prepare(kind: "result" | "failure", fields: Partial<JobReport>): void {
    const s = this.state;
    if (s.reportStatus !== "NONE") return;
    // A result or details that cannot be stored or sent (NaN, a function, a class instance) would
    // leave the job unable to save its state and the collector unable to take the report: the
    // job reports that as its failure, so the group still completes.
    const bad = findNonPlainData(fields.result) ?? findNonPlainData(fields.details);
    if (bad) {
      const what = kind === "result" ? "the job's result" : "the failure's details";
      kind = "failure";
      fields = { error: `${what} is not plain data at ${bad}`, stage: "report" };
    }
    const key = s.jobKey || this.computeJobId();
    s.pendingReport = {
      kind,
      report: {
        jobKey: key,
        reportId: `${this.id}-${kind}-${crypto.randomUUID().slice(0, 8)}`,
        groupId: s.groupId,
        agentId: this.id,
        jobId: this.computeJobId(),
        hostName: this.host.name,
        hostUrl: this.host.url,
        reportedAt: Date.now(),
        ...fields,
      },
    };
    s.reportStatus = "PENDING";
  }

  /**
   * Delivers the pending report (one delivery at a time); true once accepted. Inside a compute step
   * (no host) the report waits in the state: the job sends it right after the step.
   */
  #deliver(): Promise<boolean> {
    if (insideComputeStep(this.context)) return Promise.resolve(false);
    // Started again by its host without a wake-up, its next try not due: its deactivation could not
    // be stored (a full disk, say). It keeps to its schedule rather than try again at once, and
    // fail, and be started again, in a loop.
    const s = this.state;
    const due = s.reportNextTryAt ?? 0;
    if (s.reportStatus === "PENDING" && this.#tries.defers(due, () => void this.#deliver())) {
      return Promise.resolve(false);
    }
    this.#delivering ??= this.#deliverOnce().finally(() => this.#delivering = null);
    return this.#delivering;
  }

  async #deliverOnce(): Promise<boolean> {
    const s = this.state;
    if (s.reportStatus !== "PENDING") return s.reportStatus === "SENT";
    if (!s.collectorAgentId || !s.collectorHostUrl) {
      s.reportStatus = "UNDELIVERABLE";
      s.reportError = "the job has no collector (collectorAgentId and collectorHostUrl are empty)";
      return false;
    }
    s.reportAttempts += 1;
    try {
      await this.#uploadArtifact();
      if (!s.pendingReport) {
        s.reportStatus = "UNDELIVERABLE";
        s.reportError = "the report was lost from the job's state";
        return false;
      }
      const { kind, report } = s.pendingReport;
      const collector = { id: s.collectorAgentId, host: s.collectorHostUrl };
      await callOperation(
        (m) => this.context.send(collector, m, { timeoutMs: s.reportTimeoutSeconds * 1000 }),
        kind === "result" ? JobResult : JobFailure,
        report,
      );
    } catch (err) {
      return await this.#retryLater(PagletError.from(err));
    }
    s.reportStatus = "SENT";
    s.reportError = "";
    this.notifyStateChanged();
    if (s.disposeAfterReport) await this.context.dispose().catch(() => {});
    return true;
  }

  /** Uploads the noted file once, then makes the report that names it. */
  async #uploadArtifact(): Promise<void> {
    const s = this.state;
    const request = s.artifactRequest;
    if (!request) return;
    if (!s.artifactRef) {
      s.artifactRef = await this.context.uploadArtifact(request.path, {
        name: request.name,
        host: s.collectorHostUrl,
        owner: s.collectorAgentId,
      });
      if (request.move) {
        const local = request.path.startsWith("/")
          ? request.path
          : `${await this.context.workDir()}/${request.path}`;
        await Deno.remove(local).catch(() => {});
      }
    }
    if (!s.pendingReport) {
      s.reportStatus = "NONE";
      this.#prepare("result", { result: { ...request.result, artifact: s.artifactRef } });
    }
  }

  /**
   * A try failed: the job sleeps until the next try on its schedule (report_schedule.ts), or gives
   * the report up (a refusal a retry cannot fix, the collector not found again and again, or
   * `reportRetryLimit` retries spent). A report given up stays in the state, for a removal of the job
   * to send once more (removal.ts).
   */
  async #retryLater(error: PagletError): Promise<boolean> {
    const s = this.state;
    const next = nextReportTry(s, error);
    if (!next.retry) {
      s.reportStatus = "UNDELIVERABLE";
      s.reportError = next.error;
      this.notifyStateChanged();
      void this.notifyUser(
        "error",
        "job report",
        `job ${s.jobKey}: ${next.error}; collector ${s.collectorAgentId} on ${s.collectorHostUrl} ` +
          `may not have it. The job keeps it: removing the job (paglets agents rm ${this.id}) ` +
          "sends it once more",
      );
      return false;
    }
    this.notifyStateChanged();
    // Sleep until the next try; a restart of this host (or a message) wakes the job earlier. Not
    // asleep (its host could not store it so: a full disk, say), the next try comes from a timer.
    await this.#tries.sleep(
      {
        activateAt: next.at,
        activateOnMessage: true,
        queueMessagesWhenInactive: true,
        activateOnStartup: true,
      },
      next.at,
      () => void this.#deliver(),
    );
    return false;
  }
}

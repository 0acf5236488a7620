/**
 * `AnalysisJobPaglet`: one job of an analysis campaign. A compute job (placed by compute-slots,
 * its workload in a compute worker pinned to the lease's CPUs) that implements only the
 * application's part: the workload (`runComputeJob`), keeping its result frames in the compute
 * host's persistent storage, waiting for its home host (timed wake-ups while home is offline),
 * going home, and appending the frames to the campaign's SQLite DB under the file lock.
 *
 * Application status, beside the base class's `computeStatus`:
 * NEW → RUNNING → WAITING_FOR_HOME → RETURNING_HOME → COMMITTING → COMMITTED | FAILED_FINAL.
 *
 * The module stays light (every agent worker of every host loads it): the workload, Arrow and
 * SQLite are imported where they are used.
 *
 * @module
 */
import { z } from "zod";
import { ComputeJobPaglet } from "../../agents/compute_job.ts";
import {
  computeJobDefaults,
  computeJobSchema,
  type ComputeJobState,
} from "../../agents/compute_job_state.ts";
import type { Message } from "../../agents/message.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import { ANALYSIS_STATUSES, type AnalysisStatus, type JobUpdate } from "./operations.ts";
import type { AnalysisInput, AnalysisMetrics, AnalysisOutcome } from "./workload.ts";

/** The three result tables, in commit order. */
const TABLES = ["job_summary", "feature_summary", "prediction_summary"] as const;

/** The state of an analysis job: compute estimates plus the application's fields. */
export interface AnalysisJobState extends ComputeJobState {
  campaignId: string;
  /** The campaign seeder on the home host, told about every status change. */
  seederId: string;
  status: AnalysisStatus;
  seed: number;
  dbPath: string;
  rowCount: number;
  featureCount: number;
  estimatorTrees: number;
  targetRuntimeSeconds: number;
  homeCheckSeconds: number;
  dbLockTimeoutSeconds: number;
  /** What the workload measured (null before). */
  metrics: AnalysisMetrics | null;
  /** Frames in this host's persistent storage while the job waits: table → file name. */
  resultPaths: Record<string, string>;
  /** Frames in the state itself while the job travels home (Arrow IPC bytes). */
  resultPayloads: Record<string, Uint8Array>;
  error: string;
  /** Host-check wake-ups so far while waiting for home. */
  homeChecks: number;
}

const STATUS = z.enum(ANALYSIS_STATUSES);

export class AnalysisJobPaglet extends ComputeJobPaglet<AnalysisJobState> {
  static override readonly type: string = "examples.analysis.job";
  static override readonly stateSchema = computeJobSchema({
    campaignId: z.string(),
    status: STATUS,
    seed: z.number().int(),
    dbPath: z.string().min(1, "must name the SQLite file"),
    rowCount: z.number().int().min(100),
    featureCount: z.number().int().min(4),
    estimatorTrees: z.number().int().min(1),
    targetRuntimeSeconds: z.number().min(0),
    homeCheckSeconds: z.number().min(0.1),
    dbLockTimeoutSeconds: z.number().min(0),
  });

  /** Last status reported to the seeder, so that only changes are sent. */
  #reported = "";

  override initialState(): AnalysisJobState {
    return {
      ...computeJobDefaults({
        memoryBytes: 512 * 2 ** 20,
        tempStorageBytes: 256 * 2 ** 20,
        estimatedRuntimeSeconds: 150,
      }),
      campaignId: "",
      seederId: "",
      status: "NEW",
      seed: 0,
      dbPath: "",
      rowCount: 80_000,
      featureCount: 32,
      estimatorTrees: 80,
      targetRuntimeSeconds: 150,
      homeCheckSeconds: 300,
      dbLockTimeoutSeconds: 60,
      metrics: null,
      resultPaths: {},
      resultPayloads: {},
      error: "",
      homeChecks: 0,
    };
  }

  /** The workload; runs in the compute worker. Test fixtures override it. */
  protected async analyse(input: AnalysisInput): Promise<AnalysisOutcome> {
    const { runAnalysis } = await import("./workload.ts");
    return runAnalysis(input);
  }

  /** In the pinned compute worker: the analysis; two frames and the metrics go into the state. */
  override async runComputeJob(): Promise<void> {
    const s = this.state;
    s.status = "RUNNING";
    const out = await this.analyse(this.#input());
    s.metrics = out.metrics;
    s.resultPayloads = { feature_summary: out.featureSummary, prediction_summary: out.predictionSummary };
  }

  /** After the step, and on every later wake-up: keep the frames, wait for home, go home, commit. */
  override async continueAfterComputeSuccess(): Promise<void> {
    try {
      switch (this.state.status) {
        case "NEW":
        case "RUNNING":
          await this.#keepResults();
          return await this.#tryReturnHome();
        case "WAITING_FOR_HOME":
          return await this.#tryReturnHome();
        case "RETURNING_HOME":
        case "COMMITTING": // a commit a crash interrupted: the append is idempotent per job
          if (this.isComputeHome()) return await this.#commitAtHome();
          return await this.#tryReturnHome();
        default:
          return;
      }
    } catch (err) {
      // Frames that cannot be stored or read back (quota, a lost file): nothing left to commit.
      await this.#failFinal(`result handling failed on ${this.host.name}: ${errorText(err)}`);
    }
  }

  override async afterComputeFailure(message: string): Promise<void> {
    await this.#failFinal(message);
  }

  async #failFinal(message: string): Promise<void> {
    this.state.error = message;
    this.#setStatus("FAILED_FINAL");
    await this.notifyUser("error", "Analysis job failed", `${this.state.jobId}: ${message}`);
  }

  override onJobMessage(message: Message): unknown {
    switch (message.kind) {
      case "status":
        return this.#view();
      case "retry_commit":
        return this.#retryCommit();
      default:
        return this.notHandled(message);
    }
  }

  /** Tells the seeder about status and host changes (the base class calls this on its own transitions). */
  override notifyStateChanged(): void {
    super.notifyStateChanged();
    this.#report();
  }

  override onArrival(event: LifecycleEvent): void | Promise<void> {
    this.#report();
    return super.onArrival(event);
  }

  #input(): AnalysisInput {
    const s = this.state;
    return {
      campaignId: s.campaignId,
      jobId: s.jobId,
      seed: s.seed,
      rows: s.rowCount,
      features: s.featureCount,
      trees: s.estimatorTrees,
      targetRuntimeSeconds: s.targetRuntimeSeconds,
    };
  }

  /** Adds the job summary (it needs the placement the base class recorded) and stores all three frames here. */
  async #keepResults(): Promise<void> {
    const s = this.state;
    const { jobSummaryBytes } = await import("./workload.ts");
    const payloads: Record<string, Uint8Array> = {
      ...s.resultPayloads,
      job_summary: jobSummaryBytes(this.#input(), s.metrics!, {
        host: s.computeHostName || this.host.name,
        cpuCoreIds: s.cpuCoreIds,
        cpuAffinitySupported: s.cpuAffinitySupported,
        cpuAffinityEnforced: s.cpuAffinityEnforced,
        cpuAffinityError: s.cpuAffinityError,
      }),
    };
    await this.#storeResults(payloads);
    this.#setStatus("WAITING_FOR_HOME");
  }

  /** Writes the frames into this host's persistent storage and takes them out of the state. */
  async #storeResults(payloads: Record<string, Uint8Array>): Promise<void> {
    const storage = this.context.persistentStorage();
    const paths: Record<string, string> = {};
    for (const table of TABLES) {
      paths[table] = `${this.#folder()}/${table}.arrow`;
      await storage.writeBytes(paths[table], payloads[table]);
    }
    this.state.resultPaths = paths;
    this.state.resultPayloads = {};
  }

  async #loadResults(): Promise<Record<string, Uint8Array>> {
    const storage = this.context.persistentStorage();
    const out: Record<string, Uint8Array> = {};
    for (const table of TABLES) {
      const bytes = await storage.readBytes(this.state.resultPaths[table]);
      if (!bytes) {
        throw new Error(`result frame ${this.state.resultPaths[table]} is missing on ${this.host.name}`);
      }
      out[table] = bytes;
    }
    return out;
  }

  async #dropStoredResults(): Promise<void> {
    await this.context.persistentStorage().delete(this.#folder());
  }

  /** Home here: commit. Home offline: sleep until the next check. Home online: take the frames and go. */
  async #tryReturnHome(): Promise<void> {
    const s = this.state;
    if (this.isComputeHome()) {
      s.resultPayloads = await this.#frames();
      this.#setStatus("RETURNING_HOME");
      return await this.#commitAtHome();
    }
    const home = s.homeHostUrl || s.homeHostName;
    if (!(await this.context.isHostOnline(home).catch(() => false))) return await this.#sleepUntilNextCheck();
    s.resultPayloads = await this.#frames();
    this.#setStatus("RETURNING_HOME");
    try {
      await this.context.dispatch(home);
    } catch (err) {
      if (!this.context.isCurrent()) return; // it goes on as another instance (see dispatch())
      // Still here: the frames go back to storage (onDispatching removed them) and the job waits.
      await this.#storeResults(s.resultPayloads);
      this.#setStatus("WAITING_FOR_HOME");
      void this.notifyUser("warning", "Analysis job could not go home", `${s.jobId}: ${errorText(err)}`);
      return await this.#sleepUntilNextCheck();
    }
  }

  /** The frames: from the state when it holds them (a departure a crash interrupted), else from storage. */
  async #frames(): Promise<Record<string, Uint8Array>> {
    const held = this.state.resultPayloads;
    return TABLES.every((t) => held[t]) ? held : await this.#loadResults();
  }

  /**
   * Leaving for home with the frames in the state: the stored copies go now, while the job is still
   * this host's (after the dispatch it can no longer reach this host's storage).
   */
  override async onDispatching(): Promise<void> {
    if (this.state.status === "RETURNING_HOME") await this.#dropStoredResults();
  }

  async #sleepUntilNextCheck(): Promise<void> {
    const s = this.state;
    s.homeChecks += 1;
    await this.context.deactivate({
      activateAt: Date.now() + s.homeCheckSeconds * 1000,
      activateOnMessage: true,
      queueMessagesWhenInactive: true,
      activateOnStartup: false,
    });
  }

  async #commitAtHome(): Promise<void> {
    const s = this.state;
    this.#setStatus("COMMITTING");
    try {
      const { appendResults } = await import("./results_db.ts");
      await appendResults(s.dbPath, s.jobId, s.resultPayloads, s.dbLockTimeoutSeconds);
    } catch (err) {
      // The frames stay in the state: `retry_commit` (the seeder's analysis.retry) tries again.
      s.error = `commit to ${s.dbPath} failed: ${errorText(err)}`;
      this.#setStatus("FAILED_FINAL");
      await this.notifyUser("error", "Analysis commit failed", `${s.jobId}: ${s.error}`);
      return;
    }
    // Stored copies are this host's when the job computed at home (elsewhere they left with the job).
    await this.#dropStoredResults();
    s.resultPayloads = {};
    s.error = "";
    this.#setStatus("COMMITTED");
    await this.notifyUser("info", "Analysis result saved", `Saved ${s.jobId} to ${s.dbPath}`);
    await this.#reportNow();
    await this.context.dispose();
  }

  /** A commit that failed at home (frames still here) is tried again. */
  async #retryCommit(): Promise<{ retried: boolean; status: AnalysisStatus; error: string }> {
    const s = this.state;
    const retriable = s.status === "FAILED_FINAL" && this.isComputeHome() &&
      TABLES.every((t) => s.resultPayloads[t]);
    if (retriable) await this.#commitAtHome();
    return { retried: retriable, status: s.status, error: s.error };
  }

  #setStatus(status: AnalysisStatus): void {
    this.state.status = status;
    this.notifyStateChanged();
  }

  #folder(): string {
    return (this.state.jobId || this.id).replace(/[^A-Za-z0-9._-]/g, "_");
  }

  #view(): JobUpdate {
    const s = this.state;
    // The compute step runs in another worker: while it does, the job is RUNNING for its people too.
    const status = s.status === "NEW" && s.computeStatus === "RUNNING" ? "RUNNING" : s.status;
    return {
      jobId: s.jobId,
      agentId: this.id,
      status,
      computeStatus: s.computeStatus,
      host: this.context?.host?.name ?? "",
      error: s.error || s.computeError,
      accuracy: s.metrics?.accuracy ?? null,
      computeSeconds: s.metrics?.computeSeconds ?? null,
      at: Date.now(),
    };
  }

  #report(): void {
    void this.#reportNow();
  }

  /** Sends the current view to the seeder when it changed; never throws (home may be offline). */
  async #reportNow(): Promise<void> {
    const s = this.state;
    if (!s.seederId || !this.context?.sendOneway || !s.homeHostUrl) return;
    const view = this.#view();
    const key = `${view.status}|${view.computeStatus}|${view.host}|${view.error}`;
    if (key === this.#reported) return;
    this.#reported = key;
    try {
      await this.context.sendOneway({ id: s.seederId, host: s.homeHostUrl }, {
        kind: "analysis.job_update",
        args: { ...view },
      });
    } catch {
      this.#reported = ""; // try again at the next change
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

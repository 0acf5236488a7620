/**
 * `CampaignSeederPaglet`: one analysis campaign on its home host. `analysis.start` creates the jobs
 * (job ids `<campaign>-0000`…, seeds `index + 10000`, DB path, resource estimates) and records
 * their ids, or the error per job id; jobs report their progress back with `analysis.job_update`;
 * `analysis.summary` answers the CLI (and reads the campaign's rows from the DB on request);
 * `analysis.retry` asks jobs whose commit failed to commit again.
 *
 * @module
 */
import { z } from "zod";
import { Paglet } from "../../agents/paglet.ts";
import type { Message } from "../../agents/message.ts";
import { handle, routeOperations } from "../../agents/operations.ts";
import { PagletError } from "../../agents/errors.ts";
import type { CampaignRequest, CampaignSummary, JobUpdate, ResultsView } from "./operations.ts";

/** The state of a campaign. */
export interface CampaignState {
  campaignId: string;
  request: CampaignRequest | null;
  startedAt: number;
  /** All jobs were created (or failed to be). */
  seeded: boolean;
  created: { jobId: string; agentId: string }[];
  /** Creation errors per job id. */
  errors: Record<string, string>;
  /** Newest update per job id. */
  jobs: Record<string, JobUpdate>;
}

const JOB_TYPE = "examples.analysis.job";

export class CampaignSeederPaglet extends Paglet<CampaignState> {
  static override readonly type = "examples.analysis.seeder";
  static override readonly stateSchema = z.object({
    campaignId: z.string(),
    seeded: z.boolean(),
    created: z.array(z.object({ jobId: z.string(), agentId: z.string() })),
    errors: z.record(z.string()),
  }).passthrough();

  override initialState(): CampaignState {
    return { campaignId: "", request: null, startedAt: 0, seeded: false, created: [], errors: {}, jobs: {} };
  }

  override async onMessage(message: Message): Promise<unknown> {
    const op = await import("./operations.ts");
    const reply = routeOperations(message, [
      handle(op.ANALYSIS_START, (req) => this.#start(req)),
      handle(op.ANALYSIS_SUMMARY, ({ withResults }) => this.#summary(withResults)),
      handle(op.ANALYSIS_JOB_UPDATE, (update) => this.#update(update)),
      handle(op.ANALYSIS_RETRY, () => this.#retry()),
    ]);
    return reply ?? this.notHandled(message);
  }

  async #start(request: CampaignRequest) {
    const s = this.state;
    if (s.request) {
      throw new PagletError("state_conflict", `campaign ${s.campaignId} was started already`);
    }
    s.campaignId = request.campaignId ??
      (this.id.startsWith("analysis-") ? this.id : `analysis-${crypto.randomUUID()}`);
    s.request = request;
    s.startedAt = Date.now();
    await this.#seedJobs(request);
    return { campaignId: s.campaignId, created: s.created.length, errors: { ...s.errors } };
  }

  /** Creates one job per task; the scheduler reads the estimates, the job id is the application's. */
  async #seedJobs(request: CampaignRequest): Promise<void> {
    const s = this.state;
    const estimatedRuntimeSeconds = Math.max(1, request.targetRuntimeSeconds);
    for (let index = 0; index < request.tasks; index++) {
      const jobId = `${s.campaignId}-${String(index).padStart(4, "0")}`;
      const state = {
        campaignId: s.campaignId,
        seederId: this.id,
        jobId,
        seed: index + 10_000,
        dbPath: request.dbPath,
        rowCount: request.rows,
        featureCount: request.features,
        estimatorTrees: request.trees,
        targetRuntimeSeconds: request.targetRuntimeSeconds,
        estimatedRuntimeSeconds,
        homeCheckSeconds: request.homeCheckSeconds,
        dbLockTimeoutSeconds: request.dbLockTimeoutSeconds,
        cpuCores: request.cpuCores,
        memoryBytes: request.memoryBytes,
        tempStorageBytes: request.tempStorageBytes,
        allowHomeCompute: request.allowHomeCompute,
        // allowHomeCompute alone steers the first placement only; the exclusion also holds for
        // redirects (work stealing towards a home with free cores).
        excludedHostUrls: request.allowHomeCompute ? [] : [this.host.url],
      };
      // Known before it exists: the job may report from its compute host while later jobs are created.
      s.jobs[jobId] ??= {
        jobId,
        agentId: `${jobId}-job`,
        status: "NEW",
        computeStatus: "NEW",
        host: this.host.name,
        error: "",
        accuracy: null,
        computeSeconds: null,
        at: Date.now(),
      };
      try {
        const ref = await this.context.create(JOB_TYPE, { state, id: `${jobId}-job` });
        s.created.push({ jobId, agentId: ref.id });
      } catch (err) {
        delete s.jobs[jobId];
        s.errors[jobId] = err instanceof Error ? err.message : String(err);
      }
    }
    s.seeded = true;
    this.notifyStateChanged();
  }

  #update(update: JobUpdate) {
    const known = this.state.jobs[update.jobId];
    if (!known) return { ok: false };
    // Updates can overtake each other between hosts; a final status is never replaced.
    const final = known.status === "COMMITTED" ||
      (known.status === "FAILED_FINAL" && update.status !== "COMMITTING" && update.status !== "COMMITTED");
    if ((!final && update.at >= known.at) || update.status === "COMMITTED") {
      this.state.jobs[update.jobId] = update;
      this.notifyStateChanged();
    }
    return { ok: true };
  }

  async #summary(withResults: boolean): Promise<CampaignSummary> {
    const s = this.state;
    const jobs = Object.values(s.jobs).sort((a, b) => a.jobId.localeCompare(b.jobId));
    const counts: Record<string, number> = {};
    for (const j of jobs) counts[j.status] = (counts[j.status] ?? 0) + 1;
    const failedToCreate = Object.keys(s.errors).length;
    if (failedToCreate) counts.NOT_CREATED = failedToCreate;
    const done = s.seeded && jobs.every((j) => j.status === "COMMITTED" || j.status === "FAILED_FINAL");
    let results: ResultsView | null = null;
    if (withResults && s.request) {
      const { summarizeResults } = await import("./results_db.ts");
      results = summarizeResults(s.request.dbPath, s.campaignId);
    }
    return {
      campaignId: s.campaignId,
      dbPath: s.request?.dbPath ?? "",
      tasks: s.request?.tasks ?? 0,
      startedAt: s.startedAt,
      seeded: s.seeded,
      errors: { ...s.errors },
      jobs,
      counts,
      done,
      results,
    };
  }

  async #retry() {
    const retried: string[] = [];
    for (const job of Object.values(this.state.jobs)) {
      if (job.status !== "FAILED_FINAL" || !job.error.startsWith("commit to ")) continue;
      const reply = await this.context.send(job.agentId, { kind: "retry_commit", args: {} }) as {
        retried: boolean;
      };
      if (reply.retried) retried.push(job.jobId);
    }
    return { retried };
  }
}

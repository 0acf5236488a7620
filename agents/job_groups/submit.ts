/**
 * `submitComputeJobGroup`: starts a group of compute jobs that report to one collector, from a
 * paglet (its context) or from a script (the `connect()` handle), and returns a handle to watch it.
 *
 * The order makes the group's record complete from the start: the collector is created with every
 * expected job key, then the jobs are created and registered with their agent ids as they go (those
 * created while one registration is on its way go in the next, so there are about as many calls as
 * rounds of `createConcurrency` creations), and the last registration says the submission has ended.
 * A job that cannot be created is recorded as a failure at stage `create`. If the submitter stops
 * before its end (a killed script), the collector waits `submissionTimeoutSeconds` after the last
 * registration and then records the jobs that were never created as failures at stage `create`, so
 * the group still completes; the jobs that were created run and report as usual.
 *
 * @example
 * ```ts
 * import { submitComputeJobGroup } from "paglets";
 * const group = await submitComputeJobGroup(this.context, WordCount, [{ text: "a b" }, { text: "c" }], {
 *   returnHomeWhenComplete: true,
 * });
 * const summary = await group.drain({ timeoutMs: 60_000 });
 * console.log(summary.results);
 * ```
 *
 * @module
 */
import type { AgentRef, CreateOptions } from "../context.ts";
import { interrupted, onInterrupt, whenInterrupted } from "../interruption.ts";
import { mayPass, PagletError } from "../errors.ts";
import type { MessageInput, SendOptions } from "../message.ts";
import { callOperation } from "../operations.ts";
import type { PagletClass } from "../paglet.ts";
import { CollectorDrain, CollectorSummary, type GroupSummary, JobFailure, RegisterJobs } from "./contract.ts";
import { ResultCollectorPaglet } from "./collector.ts";
import type { CollectingComputeJobState } from "./collecting_job_state.ts";
import { sleep } from "../timers.ts";

/** How long a submission keeps telling its collector before it gives up: a host restart passes in it. */
const COLLECTOR_PATIENCE_MS = 30_000;

/**
 * `call` to the collector, asked again while it fails in a way that may pass (its host down or
 * restarting, the collector moving), until {@link COLLECTOR_PATIENCE_MS} have passed since the
 * first try (a try that fails by its own timeout counts it in); not once the script is interrupted
 * (Ctrl-C ends the wait at once).
 */
async function patiently<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + COLLECTOR_PATIENCE_MS;
  for (let pause = 250;; pause = Math.min(pause * 2, 4000)) {
    try {
      return await call();
    } catch (err) {
      if (!mayPass(err) || interrupted.aborted || Date.now() + pause > deadline) throw err;
      // Ctrl-C ends the wait at once: the submission then stops as interrupted.
      await Promise.race([sleep(pause), whenInterrupted()]);
      if (interrupted.aborted) throw err;
    }
  }
}

/**
 * What starting a group needs from its caller: create a paglet of a type with a state (on a host),
 * and send a message. A paglet's `context` is one; so is the mesh handle a script gets from
 * `connect()`. `host.url` (a context) or `entry` (a script's handle) names the group's home.
 */
export interface GroupLauncher {
  readonly host?: { readonly name?: string; readonly url: string };
  readonly entry?: string;
  create(type: string, options?: CreateOptions): Promise<AgentRef>;
  send(target: AgentRef, message: MessageInput, options?: SendOptions): Promise<unknown>;
}

/** Options of {@link submitComputeJobGroup}. */
export interface SubmitGroupOptions {
  /** The group's id. @default `group-<random>` */
  groupId?: string;
  /** Host (name or URL) to create the collector on. @default the launcher's host */
  collectorHost?: string;
  /** The collector goes back to the home host once every job has reported. @default false */
  returnHomeWhenComplete?: boolean;
  /** The group's home (name or URL). @default the launcher's host */
  homeHost?: string;
  /** Fields merged over the collector's state (e.g. `homeCheckSeconds`). */
  collectorState?: Record<string, unknown>;
  /** The collector's type (a subclass of ResultCollectorPaglet). @default "paglets.result_collector" */
  collectorType?: string;
  /** Jobs created at once. @default 8 */
  createConcurrency?: number;
  /**
   * How long the collector waits for the next registration of a submission that has not ended before
   * it gives the submission up: the jobs not created by then fail at stage `create`. Longer than
   * the longest creation of one job. @default 300
   */
  submissionTimeoutSeconds?: number;
}

/** A job of a submitted group. */
export interface SubmittedJob {
  jobKey: string;
  agentId: string;
  host: string;
}

/** Options of {@link ComputeJobGroup.drain}. */
export interface DrainOptions {
  /** Give up (`timeout`) after this long. @default 600000 */
  timeoutMs?: number;
  /** Longest pause between two looks. @default 2000 */
  maxPollMs?: number;
}

/** A submitted group: its collector, jobs and creation errors, and its summary. */
export class ComputeJobGroup {
  readonly groupId: string;
  readonly collector: AgentRef;
  readonly jobs: SubmittedJob[];
  /** Jobs that could not be created (recorded as failures at stage `create`). */
  readonly creationErrors: { jobKey: string; code: string; message: string }[];
  readonly #launcher: GroupLauncher;

  constructor(
    launcher: GroupLauncher,
    fields: Pick<ComputeJobGroup, "groupId" | "collector" | "jobs" | "creationErrors">,
  ) {
    this.#launcher = launcher;
    this.groupId = fields.groupId;
    this.collector = fields.collector;
    this.jobs = fields.jobs;
    this.creationErrors = fields.creationErrors;
  }

  /** The collector's summary now. */
  summary(): Promise<GroupSummary> {
    return callOperation((m) => this.#launcher.send(this.collector, m), CollectorSummary, {});
  }

  /**
   * Waits until every expected job has a result or a failure and returns the summary. While the
   * collector's host is unreachable (restarting, say) it keeps looking until `timeoutMs`.
   */
  async drain(options: DrainOptions = {}): Promise<GroupSummary> {
    const { timeoutMs = 600_000, maxPollMs = 2000 } = options;
    const deadline = Date.now() + timeoutMs;
    let pause = 50;
    let last: GroupSummary | null = null;
    let lastError: PagletError | null = null;
    while (true) {
      try {
        last = await callOperation((m) => this.#launcher.send(this.collector, m), CollectorDrain, {});
        lastError = null;
        if (last.complete) return last;
      } catch (err) {
        lastError = PagletError.from(err);
        if (lastError.code === "invalid_request" || lastError.code === "not_handled") throw lastError;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        // The last look decides what to say: a collector that stopped answering (removed, its
        // host gone) is named as such, not as jobs still pending.
        throw new PagletError(
          "timeout",
          `group ${this.groupId} is not complete after ${timeoutMs} ms: ` +
            (lastError
              ? `its collector ${this.collector.id} on ${this.collector.host} did not answer: ` +
                `[${lastError.code}] ${lastError.message}` +
                (last
                  ? ` (${last.pendingCount} of ${last.expectedCount} jobs were pending when it last did)`
                  : "")
              : `${last!.pendingCount} of ${last!.expectedCount} jobs pending`),
        );
      }
      await sleep(Math.min(pause, left));
      pause = Math.min(maxPollMs, pause * 1.5);
    }
  }
}

function isPositiveInteger(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

/**
 * A job's id when its state names none: its key, within its group. compute-slots takes requests of
 * one job id for one owner (a retry of it), so two groups that use the same keys at once must not
 * share ids: each would be handed the other's lease, or lose its queued request.
 */
function groupJobId(groupId: string, jobKey: string): string {
  return jobKey.startsWith(`${groupId}-`) ? jobKey : `${groupId}:${jobKey}`;
}

/**
 * Starts `states.length` jobs of `JobClass` that report to a new collector; see the module
 * documentation. Each state is merged over the class's initial state; `jobKey` defaults to
 * `<groupId>-0001`, … and `jobId` to the key within its group (`<groupId>:<key>` for a key of
 * your own).
 */
export async function submitComputeJobGroup<S extends CollectingComputeJobState>(
  launcher: GroupLauncher,
  JobClass: PagletClass<S>,
  states: Partial<S>[],
  options: SubmitGroupOptions = {},
): Promise<ComputeJobGroup> {
  if (!JobClass?.type) {
    throw new PagletError(
      "invalid_request",
      "Cannot submit a job group: JobClass must be a paglet class with a type",
    );
  }
  if (!Array.isArray(states) || states.length === 0) {
    throw new PagletError("invalid_request", "Cannot submit a job group: states must be a non-empty array");
  }
  const concurrency = options.createConcurrency ?? 8;
  if (!isPositiveInteger(concurrency)) {
    throw new PagletError(
      "invalid_request",
      `Cannot submit a job group as 'createConcurrency' must be a positive integer: current value is ${concurrency}`,
    );
  }
  const submissionTimeoutSeconds = options.submissionTimeoutSeconds ?? 300;
  if (!(Number.isFinite(submissionTimeoutSeconds) && submissionTimeoutSeconds >= 0.1)) {
    throw new PagletError(
      "invalid_request",
      `Cannot submit a job group as 'submissionTimeoutSeconds' must be a number of at least 0.1: current value is ${submissionTimeoutSeconds}`,
    );
  }
  const groupId = options.groupId ?? `group-${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const keys = states.map((s, i) => s.jobKey || `${groupId}-${String(i + 1).padStart(4, "0")}`);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) {
    throw new PagletError("invalid_request", `Cannot submit a job group: job key '${twice}' is used twice`);
  }
  const home = options.homeHost ?? launcher.host?.url ?? launcher.entry ?? "";
  if (options.returnHomeWhenComplete && options.collectorHost && !home) {
    throw new PagletError(
      "invalid_request",
      "Cannot submit a job group that returns home from another host without knowing home: set 'homeHost'",
    );
  }

  const expectedJob = (jobKey: string, agentId = "") => ({
    jobKey,
    agentId,
    type: JobClass.type,
    registeredAt: 0,
    metadata: {},
  });
  const collector = await launcher.create(options.collectorType ?? ResultCollectorPaglet.type, {
    ...(options.collectorHost ? { host: options.collectorHost } : {}),
    state: {
      groupId,
      returnHomeWhenComplete: options.returnHomeWhenComplete ?? false,
      ...(home
        ? { homeHostUrl: home, homeHostName: home === launcher.host?.url ? launcher.host.name ?? "" : "" }
        : {}),
      expectedJobs: Object.fromEntries(keys.map((key) => [key, expectedJob(key)])),
      submissionStatus: "SUBMITTING",
      submissionTimeoutSeconds,
      ...options.collectorState,
    },
  });
  const send = (m: MessageInput) => launcher.send(collector, m);

  const jobs: SubmittedJob[] = [];
  const creationErrors: ComputeJobGroup["creationErrors"] = [];
  /** Created jobs the collector does not know yet. */
  let unregistered: SubmittedJob[] = [];
  let registering: Promise<void> | null = null;
  /** Why the submission stopped early (the collector could not be told something). */
  let stopped: PagletError | null = null;
  const register = async (submissionEnded: boolean) => {
    const batch = unregistered;
    unregistered = [];
    try {
      await patiently(() =>
        callOperation(send, RegisterJobs, {
          jobs: batch.map((j) => expectedJob(j.jobKey, j.agentId)),
          submissionEnded,
        })
      );
    } catch (err) {
      unregistered = [...batch, ...unregistered];
      throw err;
    }
  };
  /** Registers created jobs in the background, one call at a time. */
  const registerSoon = () => {
    registering ??= (async () => {
      while (unregistered.length && !stopped) await register(false);
    })().catch((err) => {
      stopped ??= PagletError.from(err);
    }).finally(() => registering = null);
  };
  let next = 0;
  const worker = async () => {
    while (next < states.length && !stopped && !interrupted.aborted) {
      const i = next++;
      const jobKey = keys[i];
      const jobId = states[i].jobId || groupJobId(groupId, jobKey);
      try {
        const ref = await launcher.create(JobClass.type, {
          state: {
            ...states[i],
            groupId,
            jobKey,
            jobId,
            collectorAgentId: collector.id,
            collectorHostUrl: collector.host,
          },
        });
        const job = { jobKey, agentId: ref.id, host: ref.host };
        jobs.push(job);
        unregistered.push(job);
        registerSoon();
      } catch (err) {
        const error = PagletError.from(err);
        creationErrors.push({ jobKey, code: error.code, message: error.message });
        try {
          await patiently(() =>
            callOperation(send, JobFailure, {
              jobKey,
              reportId: `create-${groupId}-${jobKey}`,
              groupId,
              agentId: "",
              jobId,
              hostName: "",
              hostUrl: "",
              reportedAt: Date.now(),
              error: `[${error.code}] ${error.message}`,
              stage: "create",
            })
          );
        } catch (err) {
          stopped ??= PagletError.from(err);
        }
      }
    }
  };
  // Ctrl-C of the script (agents/interruption.ts) waits until the collector was told what exists.
  const submitted = Promise.withResolvers<void>();
  const unregister = onInterrupt(() => submitted.promise);
  try {
    // Creations still under way when the script is interrupted are not waited for: a job created
    // after all reports for itself, replacing its "never created" failure at the collector.
    const creating = Promise.all(Array.from({ length: Math.min(concurrency, states.length) }, worker));
    await Promise.race([creating, whenInterrupted()]);
    await registering;
    // Set by the workers and the registration (TypeScript cannot see that from here).
    const failure = stopped as PagletError | null;
    if (failure) {
      // One more try to say what exists and that no more will: the collector then completes the
      // group at once instead of after its timeout.
      await register(true).catch(() => {});
      throw new PagletError(
        failure.code,
        `group ${groupId}: the submission stopped after ${jobs.length} of ${states.length} jobs, since ` +
          `its collector ${collector.id} on ${collector.host} did not answer: ${failure.message} (the ` +
          `jobs created run and report; the collector records the others as not created)`,
      );
    }
    await register(true);
    if (interrupted.aborted && jobs.length + creationErrors.length < states.length) {
      throw new PagletError(
        "interrupted",
        `group ${groupId}: the submission was interrupted after ${jobs.length} of ${states.length} jobs (the ` +
          `jobs created run and report to collector ${collector.id} on ${collector.host}, which records the ` +
          `others as not created)`,
      );
    }
    jobs.sort((a, b) => a.jobKey.localeCompare(b.jobKey));
    return new ComputeJobGroup(launcher, { groupId, collector, jobs, creationErrors });
  } finally {
    unregister();
    submitted.resolve();
  }
}

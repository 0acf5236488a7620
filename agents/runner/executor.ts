/**
 * `paglets.runner.executor`: one executor of a Runner, a paglet that holds one compute-slots lease
 * (one core) on its host and runs the batches of tasks the Runner sends it in a compute worker
 * pinned to that core. Its handlers run one at a time, so batches queue in its mailbox and run in
 * the order they arrived; results stay here for a while so later tasks of the same executor can
 * take them as arguments without the client shipping them back.
 *
 * Messages: `runner.acquire` (ask for the lease; `{leased, leaseId?, cpuIds?, position?}`),
 * `runner.batch {code, names, ids, args, …, timeoutMs?}` → `{values, failures, missing, ms, leased}`, `runner.ping`,
 * and the scheduler's `compute_slot_granted` / `compute_slot_redirect` (redirects are refused:
 * an executor belongs to its host). An executor the client stops talking to for `idleTimeoutMs`
 * disposes itself, so a crashed script cannot keep cores forever.
 *
 * @module
 */
import { PagletError } from "../errors.ts";
import type { Message } from "../message.ts";
import { Paglet } from "../paglet.ts";
import {
  BATCH_STEP_EXPORT,
  type BatchOutcome,
  type BatchStepArgs,
  type BatchWire,
  refsIn,
} from "./batch_step.ts";
import { cancel, every, orAfter, type Timer } from "../timers.ts";

/** The executor paglet's type name. */
export const EXECUTOR_TYPE = "paglets.runner.executor";

const BATCH_STEP_URL = new URL("./batch_step.ts", import.meta.url).href;

/** Results kept for later tasks' arguments; older ones are dropped (the client then sends the value). */
const KEPT_RESULTS = 10_000;

export interface ExecutorState {
  /** The Runner's name (shown in `jobs queue` and events). */
  runner: string;
  /** Host the Runner was opened on: events go there. */
  homeHost: string;
  /** Dispose after this long without a message from the Runner. */
  idleTimeoutMs: number;
  leaseId: string;
  cpuIds: number[];
  /** When the first slot request was made: keeps the place in line across re-requests. */
  submittedAt: number;
}

/** The reply to `runner.acquire` and `runner.ping`. */
export interface AcquireReply {
  leased: boolean;
  leaseId?: string;
  cpuIds?: number[];
  /** Place in the host's queue while waiting. */
  position?: number;
  reason?: string;
}

/** A batch as `runner.batch` carries it. */
export interface BatchMessage extends BatchWire {
  /** The batch's number, unique in its Runner: its compute step's tag, which cancel names. */
  seq: number;
  /** End the (single) task after this long. */
  timeoutMs?: number;
}

/** The compute step tag of batch `seq` (compute-slots' `abort-step` ends the step by it). */
export function batchTag(seq: number): string {
  return `runner-batch-${seq}`;
}

/**
 * The reply to `runner.batch`: the outcome by position, or `leased: false` when the batch did not
 * run (lease lost), or `reason` when the step itself failed (the module did not load).
 */
export interface BatchReply extends Partial<BatchOutcome> {
  leased: boolean;
  reason?: string;
  /** The step was ended on request (a task of it was cancelled): nothing of it ran to the end. */
  interrupted?: boolean;
  /**
   * This executor cannot run the module at all (its host refuses travelling code): nothing ran,
   * and no batch ever will here.
   */
  refused?: string;
}

export class RunnerExecutor extends Paglet<ExecutorState> {
  static override readonly type = EXECUTOR_TYPE;

  readonly #kept = new Map<number, unknown>();
  /**
   * Tasks run, for the closing event. Not in the state: a batch then changes no state, so its reply
   * waits for no commit to disk.
   */
  #tasksRun = 0;
  #lastContact = Date.now();
  #busy = false;
  #idleTimer: Timer | undefined;

  override initialState(): ExecutorState {
    return {
      runner: "",
      homeHost: "",
      idleTimeoutMs: 60_000,
      leaseId: "",
      cpuIds: [],
      submittedAt: 0,
    };
  }

  override run(): void {
    this.#idleTimer ??= every(Math.min(5_000, this.state.idleTimeoutMs), () => {
      // A batch under way is contact enough, however long its tasks take.
      if (this.#busy || Date.now() - this.#lastContact < this.state.idleTimeoutMs) return;
      cancel(this.#idleTimer);
      this.#event("executor idle: the Runner stopped talking to it; releasing its core");
      void this.context.dispose().catch(() => {});
    });
  }

  override async onDisposing(): Promise<void> {
    cancel(this.#idleTimer);
    // The runtime releases leases of a disposed agent; a queued request is cancelled here.
    await this.context.callService("compute-slots", "cancel", {
      agentIds: [this.id],
      includeLeases: true,
    }).catch(() => {});
    if (this.#tasksRun > 0 || this.state.leaseId) {
      this.#event(`executor closed after ${this.#tasksRun} tasks`);
    }
  }

  override async onMessage(message: Message): Promise<unknown> {
    this.#lastContact = Date.now();
    switch (message.kind) {
      case "runner.acquire":
        return await this.#acquire();
      case "runner.ping":
        return this.#leaseReply();
      case "runner.batch":
        this.#busy = true;
        try {
          return await this.#batch(message.args as unknown as BatchMessage);
        } finally {
          this.#busy = false;
          this.#lastContact = Date.now();
        }
      case "compute_slot_granted": {
        const { leaseId, cpuIds } = message.args as { leaseId: string; cpuIds: number[] };
        this.#leased(leaseId, cpuIds);
        return { accepted: true };
      }
      case "compute_slot_redirect":
        return { accepted: false, reason: "a Runner executor stays on the host it was created on" };
      default:
        return this.notHandled(message);
    }
  }

  #leaseReply(): AcquireReply {
    return this.state.leaseId
      ? { leased: true, leaseId: this.state.leaseId, cpuIds: this.state.cpuIds }
      : { leased: false };
  }

  #leased(leaseId: string, cpuIds: number[]): void {
    const fresh = this.state.leaseId !== leaseId;
    this.state.leaseId = leaseId;
    this.state.cpuIds = [...cpuIds];
    if (fresh) this.#event(`executor ready on CPU ${cpuIds.join(",")}`);
  }

  async #acquire(): Promise<AcquireReply> {
    if (this.state.leaseId) return this.#leaseReply();
    this.state.submittedAt ||= Date.now();
    // Other hosts are excluded so the scheduler never redirects the request: this executor's
    // core must be on this host (the Runner places executors on the hosts it wants).
    const others = (await this.context.hosts({ onlineOnly: false }))
      .map((h) => h.url).filter((url) => url !== this.host.url);
    const decision = await this.context.callService("compute-slots", "request-slot", {
      requestId: `runner-${this.id}`,
      jobId: `runner:${this.state.runner}:${this.id}`,
      cpuCores: 1,
      submittedAt: this.state.submittedAt,
      excludedHostUrls: others,
    }) as
      | { decision: "run_now"; lease: { leaseId: string; cpuIds: number[] } }
      | { decision: "sleep"; position: number }
      | { decision: "redirect" | "rejected"; reason: string };
    switch (decision.decision) {
      case "run_now":
        this.#leased(decision.lease.leaseId, decision.lease.cpuIds);
        return this.#leaseReply();
      case "sleep":
        return { leased: false, position: decision.position };
      default:
        return { leased: false, reason: decision.reason };
    }
  }

  async #batch(batch: BatchMessage): Promise<BatchReply> {
    const { leaseId } = this.state;
    if (!leaseId) return { leased: false, reason: "the executor holds no lease" };
    const deps: Record<string, unknown> = {};
    for (const i of batch.refs ?? []) {
      for (const id of refsIn(batch.args[i])) if (this.#kept.has(id)) deps[id] = this.#kept.get(id);
    }
    const { timeoutMs, seq, ...wire } = batch;
    const step = this.#runBatch(leaseId, batchTag(seq), { ...wire, deps });
    try {
      const done = await (timeoutMs ? orAfter(step, timeoutMs, "timeout" as const) : step);
      if (done === "timeout") return await this.#timedOut(batch, leaseId, step);
      if (done.result.needsCode) {
        return { leased: true, reason: "the compute worker did not load the module" };
      }
      const outcome = done.result;
      const failed = new Set([...outcome.failures, ...outcome.missing].map(([i]) => i));
      for (let i = 0; i < batch.ids.length; i++) {
        if (!failed.has(i)) this.#keep(batch.ids[i], outcome.values[i]);
      }
      this.#tasksRun += batch.ids.length;
      return { ...outcome, leased: true };
    } catch (err) {
      const error = PagletError.from(err);
      // A task of the batch was cancelled: its worker was ended; the lease stays.
      if (error.code === "step_aborted") return { leased: true, interrupted: true };
      if (error.code === "remote_code_disabled") {
        return { leased: this.state.leaseId !== "", refused: `${error.code}: ${error.message}` };
      }
      return this.#stepLost(err);
    }
  }

  /**
   * Runs the batch in a compute worker. A worker that lacks the module named by hash says so
   * without running anything; it then gets the module's code from this host (its code store, or
   * fetched once from the host named in the reference) and imports it, once per worker.
   */
  async #runBatch(leaseId: string, tag: string, input: BatchStepArgs): Promise<{ result: BatchOutcome }> {
    const run = (args: BatchStepArgs) =>
      this.context.runCompute<BatchOutcome>({
        leaseId,
        moduleUrl: BATCH_STEP_URL,
        exportName: BATCH_STEP_EXPORT,
        args,
        tag,
      });
    const first = await run(input);
    if (!first.result.needsCode || !("hash" in input.code)) return first;
    const source = await this.context.codeModuleUrl(input.code.hash, input.code.from);
    return await run({ ...input, source });
  }

  /**
   * A task ran past its deadline: a thread in a loop cannot be asked to stop, so a no-op step
   * replaces it under the same lease (the host ends the running one's worker).
   */
  async #timedOut(batch: BatchMessage, leaseId: string, step: Promise<unknown>): Promise<BatchReply> {
    step.catch(() => {});
    await this.context.runCompute({ leaseId, moduleUrl: BATCH_STEP_URL, exportName: "endRunningStep" })
      .catch((err) => this.#stepLost(err));
    const message = `the task ran longer than its timeout of ${batch.timeoutMs} ms and was ended`;
    return {
      values: batch.ids.map(() => null),
      failures: batch.ids.map((_, i) => [i, { name: "TimeoutError", message }]),
      missing: [],
      ms: batch.timeoutMs ?? 0,
      leased: this.state.leaseId !== "",
    };
  }

  /** The step could not run or did not finish (lease released, worker gone, host draining). */
  #stepLost(err: unknown): BatchReply {
    const error = PagletError.from(err);
    if (error.code === "lease_not_found" || error.code === "draining") this.state.leaseId = "";
    return { leased: this.state.leaseId !== "", reason: `${error.code}: ${error.message}` };
  }

  #keep(id: number, value: unknown): void {
    this.#kept.set(id, value);
    if (this.#kept.size > KEPT_RESULTS) this.#kept.delete(this.#kept.keys().next().value!);
  }

  #event(text: string): void {
    void this.context.notifyUser("info", `runner ${this.state.runner}`, `${this.host.name}: ${text}`, {
      homeHost: this.state.homeHost || undefined,
      jobId: `runner:${this.state.runner}`,
    }).catch(() => {});
  }
}

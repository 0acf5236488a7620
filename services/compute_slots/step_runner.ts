/**
 * Compute steps under leases: each runs in a compute worker thread pinned to its lease's CPU ids
 * (see `host/compute_pool.ts`), one step per lease at a time. While steps run, their threads can
 * be re-pinned from outside by thread id, which is how elastic masks lend idle CPUs to running
 * jobs and take them back when new leases need them.
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";
import type { ComputeStepAffinity } from "../../agents/context.ts";
import { pinThread } from "../../host/compute/affinity.ts";
import { abandonThread, setThreadNice } from "../../host/compute/thread_priority.ts";
import { threadStartTicks } from "../../host/proc_cpu.ts";
import { noteStrayThread } from "../../host/stray_threads.ts";
import { cancel, later, type Timer } from "../../agents/timers.ts";
import { ComputePool, ComputeStepError, type StepAffinity } from "../../host/compute/compute_pool.ts";
import type { Lease } from "./lease_table.ts";
import { threadCpuSeconds } from "./probes.ts";

/** A step running under a lease. */
export interface RunningStep {
  leaseId: string;
  agentId: string;
  /** The lease's reserved CPU ids (what the worker pinned itself to). */
  cpuIds: number[];
  /** The CPU ids the thread may use now (reserved plus lent ones). */
  mask: number[];
  /** OS thread id, once the worker has pinned itself. */
  tid?: number;
  /** The step's `tag`, when it has one (`abort-step` names it). */
  tag?: string;
  /** Epoch ms of the start. */
  startedAt: number;
  /** Thread CPU seconds at the start, and at the last usage sample. */
  cpuAtStart?: number;
  cpuAtSample?: number;
  sampledAt: number;
}

/** What to run. */
export interface StepSpec {
  moduleUrl: string;
  exportName: string;
  args?: unknown;
  tag?: string;
}

/** A step's thread that ran on after its step was ended (see {@linkcode StepRunner.strays}). */
export interface StrayThread {
  tid: number;
  agentId: string;
  leaseId: string;
  /** The CPU ids it may run on (its mask when its step was ended). */
  cpuIds: number[];
  /** Epoch ms when it was found still running. */
  since: number;
  /** Whether it now runs at idle priority (SCHED_IDLE), else why not. */
  idle: { ok: boolean; error?: string };
}

/**
 * How long a step's thread gets to end after its worker was terminated: Deno ends a worker at its
 * event loop's next turn, and kills one that does not get there after about 2 s (which does not
 * work for a JavaScript loop in Deno 2.9: denoland/deno#35657).
 */
const STRAY_AFTER_MS = 3000;

/** Tags of steps aborted before they started, kept per lease (bounded: a lease ends some day). */
const DOOMED_PER_LEASE = 256;

/** Options of {@linkcode StepRunner}. */
export interface StepRunnerOptions {
  /** Idle compute workers kept for reuse. @default navigator.hardwareConcurrency */
  maxIdleWorkers?: number;
  /**
   * Nice value of compute threads (higher = lower priority than the kernel, which then hands
   * freed slots on at once even when every CPU computes); null leaves them alone. @default 10
   */
  computeNice?: number | null;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** The affinity report of a step, in the paglet-facing shape. */
function affinityOf(lease: Lease, affinity: StepAffinity | undefined): ComputeStepAffinity {
  return {
    cpuIds: [...lease.cpuIds],
    supported: affinity?.supported ?? false,
    enforced: affinity?.enforced ?? false,
    ...(affinity?.error ? { error: affinity.error } : {}),
    observedCpus: [...(affinity?.observedCpus ?? [])],
    ...(affinity?.tid === undefined ? {} : { tid: affinity.tid }),
  };
}

/** Runs compute steps under leases and keeps their threads' masks. */
export class StepRunner {
  readonly #pool: ComputePool;
  readonly #nice: number | null;
  readonly #running = new Map<string, { step: RunningStep; controller: AbortController }>();
  /** Lease id → tags of steps aborted before they started, and why. */
  readonly #doomed = new Map<string, Map<string, unknown>>();
  /** Threads of ended steps that ran on, with their start time (a later thread may reuse the id). */
  readonly #strays = new Map<StrayThread, number>();
  /** Checks of ended steps' threads not made yet, by timer (a close makes them at once). */
  readonly #strayChecks = new Map<Timer, (atStop?: boolean) => void>();
  /** Hears of a step's thread found running on after its step was ended. */
  onStray: ((stray: StrayThread) => void) | null = null;
  #closed = false;

  constructor(options: StepRunnerOptions = {}) {
    this.#pool = new ComputePool({ maxIdleWorkers: options.maxIdleWorkers });
    this.#nice = options.computeNice === undefined ? 10 : options.computeNice;
  }

  /** Steps running now, by lease id. */
  get running(): RunningStep[] {
    return [...this.#running.values()].map((r) => r.step);
  }

  get(leaseId: string): RunningStep | undefined {
    return this.#running.get(leaseId)?.step;
  }

  /**
   * Runs a step pinned to the lease's CPU ids. `onPinned` runs once the thread is pinned (to
   * apply elastic masks); `onEnd` runs when the step ends, while it is still listed (final
   * usage sample): not for a step that a newer one under its lease replaced, nor for one refused
   * at its start. Failures are `PagletError`s: `compute_step_failed` (the step threw; details
   * carry the affinity), `draining` (closed), or the abort reason.
   */
  async run(
    lease: Lease,
    agentId: string,
    spec: StepSpec,
    hooks: { onPinned?: (step: RunningStep) => void; onEnd?: (step: RunningStep) => void } = {},
  ): Promise<{ result: unknown; affinity: ComputeStepAffinity }> {
    if (this.#closed) throw new PagletError("draining", "The host is shutting down its compute workers");
    const doomed = spec.tag === undefined ? undefined : this.#doomed.get(lease.leaseId);
    if (doomed?.has(spec.tag!)) {
      const reason = doomed.get(spec.tag!);
      doomed.delete(spec.tag!);
      throw PagletError.from(reason);
    }
    this.abort(lease.leaseId, new PagletError("state_conflict", "A newer step replaced this one"));
    const controller = new AbortController();
    const step: RunningStep = {
      leaseId: lease.leaseId,
      agentId,
      ...(spec.tag === undefined ? {} : { tag: spec.tag }),
      cpuIds: [...lease.cpuIds],
      mask: [...lease.cpuIds],
      startedAt: Date.now(),
      sampledAt: Date.now(),
    };
    const entry = { step, controller };
    this.#running.set(lease.leaseId, entry);
    try {
      const { result, affinity } = await this.#pool.run({
        moduleUrl: spec.moduleUrl,
        exportName: spec.exportName,
        args: spec.args,
        cpuIds: lease.cpuIds,
        signal: controller.signal,
        onPinned: (pinned) => {
          step.tid = pinned.tid;
          if (pinned.tid !== undefined && this.#nice !== null) setThreadNice(pinned.tid, this.#nice);
          step.cpuAtStart = step.cpuAtSample = threadCpuSeconds(pinned.tid);
          hooks.onPinned?.(step);
        },
      });
      return { result, affinity: affinityOf(lease, affinity) };
    } catch (err) {
      if (err instanceof ComputeStepError) {
        throw new PagletError("compute_step_failed", err.message, {
          remoteName: err.remoteName,
          affinity: affinityOf(lease, err.affinity),
        });
      }
      if (entry.controller.signal.aborted) this.#watchStray(step);
      if (this.#closed) throw new PagletError("draining", "The host is shutting down its compute workers");
      throw PagletError.from(err);
    } finally {
      if (this.#running.get(lease.leaseId) === entry) {
        try {
          hooks.onEnd?.(step);
        } finally {
          this.#running.delete(lease.leaseId);
        }
      }
    }
  }

  /** Ends the step of a lease (its worker is terminated); false when none runs. */
  abort(leaseId: string, reason: unknown): boolean {
    const entry = this.#running.get(leaseId);
    if (!entry) return false;
    entry.controller.abort(reason);
    return true;
  }

  /**
   * Ends the lease's step tagged `tag` if it runs (true); else the step is refused when it starts
   * (false). `forget` drops what a lease's ended steps left behind.
   */
  abortTagged(leaseId: string, tag: string, reason: unknown): boolean {
    const entry = this.#running.get(leaseId);
    if (entry?.step.tag === tag) {
      entry.controller.abort(reason);
      return true;
    }
    let doomed = this.#doomed.get(leaseId);
    if (!doomed) this.#doomed.set(leaseId, doomed = new Map());
    doomed.set(tag, reason);
    if (doomed.size > DOOMED_PER_LEASE) doomed.delete(doomed.keys().next().value!);
    return false;
  }

  /** The lease ended: tags doomed under it are of no use any more. */
  forget(leaseId: string): void {
    this.#doomed.delete(leaseId);
  }

  /** Re-pins running steps whose mask in `masks` (lease id → CPU ids) differs from their current one. */
  applyMasks(masks: ReadonlyMap<string, readonly number[]>): void {
    for (const { step } of this.#running.values()) {
      if (step.tid === undefined) continue;
      const want = masks.get(step.leaseId) ?? step.cpuIds;
      if (want.length === 0 || sameIds(want, step.mask)) continue;
      const pinned = pinThread(step.tid, want);
      if (pinned.enforced) step.mask = [...want];
    }
  }

  /** Terminates every worker; running steps fail with `draining`. */
  close(): void {
    this.#closed = true;
    // Steps still running end with the pool. Their threads, and those of steps just ended, that
    // still run when the host stops are counted (one about to end too, not reported): the process
    // then exits instead of waiting for them (host/stray_threads.ts).
    for (const { step } of this.#running.values()) this.#watchStray(step);
    this.#pool.close();
    for (const [timer, check] of this.#strayChecks) {
      cancel(timer);
      check(true);
    }
    this.#strayChecks.clear();
  }

  /**
   * Threads of steps that were ended (aborted, past their deadline) but still run: Deno cannot end
   * a worker in an endless JavaScript loop. Each runs at idle priority, on CPU time nothing else
   * wants, until its loop ends or the process exits.
   */
  get strays(): StrayThread[] {
    for (const [stray, start] of this.#strays) {
      if (threadStartTicks(stray.tid) !== start) this.#strays.delete(stray);
    }
    return [...this.#strays.keys()];
  }

  /** Looks again, once the step's worker had its time to end, whether its thread still runs. */
  #watchStray(step: RunningStep): void {
    const tid = step.tid;
    const start = tid === undefined ? undefined : threadStartTicks(tid);
    if (tid === undefined || start === undefined) return;
    /** `atStop`: the host stops now; a thread still there (perhaps about to end) is only counted. */
    const check = (atStop = false) => {
      this.#strayChecks.delete(timer);
      if (threadStartTicks(tid) !== start) return;
      if (atStop) return noteStrayThread();
      const stray: StrayThread = {
        tid,
        agentId: step.agentId,
        leaseId: step.leaseId,
        cpuIds: [...step.mask],
        since: Date.now(),
        idle: abandonThread(tid),
      };
      this.#strays.set(stray, start);
      this.onStray?.(stray);
    };
    const timer = later(STRAY_AFTER_MS, check, { ref: false });
    this.#strayChecks.set(timer, check);
  }
}

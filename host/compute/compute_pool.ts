/**
 * A pool of compute workers: threads that run compute steps pinned to the
 * CPU ids of a compute-slots lease, off the kernel thread.
 *
 * A step is named by module URL and export, so any example (Pi batches,
 * Monte Carlo, analysis training) can supply its compute function without
 * the pool knowing it. Idle workers are kept for reuse (their module cache
 * makes repeated steps cheap) and re-pinned for every step. Cancelling a
 * step terminates its worker: a thread in a tight loop cannot be asked to
 * stop, only ended.
 *
 * @module
 */
import { requireDescriptors, WORKER_DESCRIPTORS } from "../descriptors.ts";
import type { StepAffinity, StepFailure, WorkerReply } from "./compute_worker.ts";

export type { StepAffinity };

/** One compute step to run. */
export interface ComputeStep<A = unknown> {
  /** Module that exports the step function (file:, data: or https: URL). */
  moduleUrl: string | URL;
  /** Name of the exported function; it receives `args` and may be async. */
  exportName: string;
  /** Structured-clone data passed as the function's single argument. */
  args?: A;
  /** CPU ids to pin the worker thread to; empty runs on the whole process mask. */
  cpuIds?: readonly number[];
  /** Aborting terminates the worker and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called once the worker is pinned, before the step runs (e.g. to re-pin it by tid later). */
  onPinned?: (affinity: StepAffinity) => void;
}

/** A finished step. */
export interface ComputeStepResult<R = unknown> {
  result: R;
  affinity: StepAffinity;
}

/** The step function threw, or the worker died while running it. */
export class ComputeStepError extends Error {
  override name = "ComputeStepError";
  readonly code = "compute_step_failed";
  /** Name of the error thrown inside the worker, e.g. "TypeError". */
  readonly remoteName: string;
  readonly remoteStack: string | undefined;
  readonly affinity: StepAffinity | undefined;
  constructor(failure: StepFailure, affinity?: StepAffinity) {
    super(`${failure.name}: ${failure.message}`);
    this.remoteName = failure.name;
    this.remoteStack = failure.stack;
    this.affinity = affinity;
  }
}

/** Options of {@linkcode ComputePool}. */
export interface ComputePoolOptions {
  /** Idle workers kept for reuse; more are terminated when they finish. @default navigator.hardwareConcurrency */
  maxIdleWorkers?: number;
  /** Worker entry point. @default ./compute_worker_entry.js */
  workerUrl?: URL;
}

interface Running {
  worker: Worker;
  fail: (error: unknown) => void;
}

/** A worker and whether it has said `ready` (loaded its modules and listens). */
interface PooledWorker {
  worker: Worker;
  ready: boolean;
}

/**
 * Runs compute steps in pinned worker threads.
 *
 * @example
 * ```ts
 * const pool = new ComputePool();
 * const { result, affinity } = await pool.run({
 *   moduleUrl: new URL("./steps.ts", import.meta.url),
 *   exportName: "chudnovskyBatch",
 *   args: { from: 0, to: 1000 },
 *   cpuIds: lease.cpuIds,
 * });
 * pool.close();
 * ```
 */
export class ComputePool {
  readonly #idle: PooledWorker[] = [];
  readonly #running = new Set<Running>();
  readonly #maxIdle: number;
  readonly #workerUrl: URL;
  #nextId = 1;
  #closed = false;

  constructor(options: ComputePoolOptions = {}) {
    const {
      maxIdleWorkers = navigator.hardwareConcurrency,
      workerUrl = new URL("./compute_worker_entry.js", import.meta.url),
    } = options;
    if (!Number.isInteger(maxIdleWorkers) || maxIdleWorkers < 0) {
      throw new RangeError(
        `Cannot create compute pool as 'maxIdleWorkers' must be an integer >= 0: current value is ${maxIdleWorkers}`,
      );
    }
    this.#maxIdle = maxIdleWorkers;
    this.#workerUrl = workerUrl;
  }

  /** Workers alive now: idle plus running. */
  get workerCount(): number {
    return this.#idle.length + this.#running.size;
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  /** Runs one step in a worker pinned to `cpuIds`. */
  run<R = unknown, A = unknown>(step: ComputeStep<A>): Promise<ComputeStepResult<R>> {
    if (this.#closed) {
      return Promise.reject(new Error("Cannot run compute step as the compute pool is closed"));
    }
    const { signal, onPinned } = step;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    let pooled = this.#idle.pop();
    if (!pooled) {
      try {
        requireDescriptors(WORKER_DESCRIPTORS, "start a compute worker");
      } catch (err) {
        return Promise.reject(err);
      }
      pooled = { worker: new Worker(this.#workerUrl, { type: "module" }), ready: false };
    }
    const { worker } = pooled;
    return new Promise<ComputeStepResult<R>>((resolve, reject) => {
      const running: Running = { worker, fail: (error) => settle(() => reject(error), false) };
      const onAbort = () => running.fail(signal!.reason);
      const settle = (finish: () => void, reusable: boolean) => {
        if (!this.#running.delete(running)) return;
        signal?.removeEventListener("abort", onAbort);
        worker.onmessage = worker.onerror = worker.onmessageerror = null;
        if (reusable && !this.#closed && this.#idle.length < this.#maxIdle) this.#keepIdle(pooled);
        else worker.terminate();
        finish();
      };
      worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data;
        if (reply.type === "ready") {
          pooled.ready = true;
          return send();
        }
        if (reply.type === "uncaught") return running.fail(new ComputeStepError(reply.error));
        if (reply.id !== id) return;
        if (reply.type === "pinned") {
          try {
            onPinned?.(reply.affinity);
          } catch (error) {
            running.fail(error);
          }
          return;
        }
        if (reply.ok) settle(() => resolve({ result: reply.result as R, affinity: reply.affinity }), true);
        else settle(() => reject(new ComputeStepError(reply.error, reply.affinity)), true);
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        running.fail(
          new ComputeStepError({ name: "WorkerError", message: event.message || "compute worker crashed" }),
        );
      };
      worker.onmessageerror = () => {
        running.fail(
          new ComputeStepError({ name: "DataCloneError", message: "the step's reply could not be read" }),
        );
      };
      this.#running.add(running);
      signal?.addEventListener("abort", onAbort, { once: true });
      const send = () => {
        try {
          worker.postMessage({
            type: "run",
            id,
            moduleUrl: String(step.moduleUrl),
            exportName: step.exportName,
            args: step.args,
            cpuIds: [...(step.cpuIds ?? [])],
          });
        } catch (error) {
          running.fail(error);
        }
      };
      if (pooled.ready) send();
    });
  }

  /**
   * Keeps a worker for the next step. An error its last step left behind (a timer that throws, a
   * promise nobody awaited) ends it while idle: it leaves the pool then, and the host lives on.
   */
  #keepIdle(pooled: PooledWorker): void {
    const end = () => {
      const at = this.#idle.indexOf(pooled);
      if (at >= 0) this.#idle.splice(at, 1);
      pooled.worker.terminate();
    };
    pooled.worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      if (event.data.type === "uncaught") end();
    };
    pooled.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      end();
    };
    this.#idle.push(pooled);
  }

  /** Terminates every worker; running steps reject, later runs are refused. */
  close(): void {
    this.#closed = true;
    for (const { worker } of this.#idle.splice(0)) worker.terminate();
    for (const running of [...this.#running]) {
      running.fail(new Error("Compute step cancelled: the compute pool was closed"));
    }
  }
}

/**
 * The compute worker (a module Web Worker started through
 * `compute_worker_entry.js`, see `compute_pool.ts`). For each step it is asked to run, it first pins its own
 * thread to the leased CPU ids (affinity is per thread, so only the worker
 * can pin itself with pid 0), records what the kernel reports for the
 * thread, then imports the step's module and calls the named export with the
 * step's arguments.
 *
 * A worker is reused for many steps and re-pinned for each; a step without
 * CPU ids runs on the whole process mask, never on a previous step's pin.
 *
 * @module
 */
import {
  affinitySupport,
  eligibleCpuIds,
  pinCurrentThread,
  readCpusAllowedList,
  threadId,
} from "./affinity.ts";
import { refuseWorkerExit } from "../worker/exit_guard.ts";

refuseWorkerExit("a step ends by returning or throwing");

/** How a compute step ran with respect to CPU affinity. */
export interface StepAffinity {
  supported: boolean;
  /** The thread ran pinned to exactly the requested CPU ids. */
  enforced: boolean;
  error?: string;
  /** `Cpus_allowed_list` of the worker thread after pinning, as the kernel reports it. */
  observedCpus: number[];
  /** Kernel thread id of the worker, for re-pinning it from outside. */
  tid: number | undefined;
}

/** Kernel → worker: run one step. */
export interface RunStepMessage {
  type: "run";
  id: number;
  moduleUrl: string;
  exportName: string;
  args: unknown;
  cpuIds: number[];
}

/** A step's exception, carried across the thread boundary. */
export interface StepFailure {
  name: string;
  message: string;
  stack?: string;
}

/** Worker → kernel. `ready` once loaded, `pinned` before a step starts, `done` after it ends. */
export type WorkerReply =
  | { type: "ready" }
  | { type: "pinned"; id: number; affinity: StepAffinity }
  | { type: "done"; id: number; ok: true; result: unknown; affinity: StepAffinity }
  | { type: "done"; id: number; ok: false; error: StepFailure; affinity: StepAffinity }
  /** An error no step caught (a timer that throws, a promise nobody awaited); the pool ends this worker. */
  | { type: "uncaught"; error: StepFailure };

interface WorkerScope {
  onmessage: ((event: MessageEvent<RunStepMessage>) => void) | null;
  postMessage(message: WorkerReply): void;
}

function pin(cpuIds: readonly number[]): StepAffinity {
  const tid = threadId();
  if (cpuIds.length === 0) {
    // Undo a previous step's pin so this step gets the whole process mask.
    pinCurrentThread(eligibleCpuIds());
    return { ...affinitySupport(), enforced: false, observedCpus: readCpusAllowedList(tid) ?? [], tid };
  }
  const { supported, enforced, error } = pinCurrentThread(cpuIds);
  return {
    supported,
    enforced,
    ...(error === undefined ? {} : { error }),
    observedCpus: readCpusAllowedList(tid) ?? [],
    tid,
  };
}

function failure(error: unknown): StepFailure {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: "Error", message: String(error) };
}

async function runStep(message: RunStepMessage): Promise<unknown> {
  const module = await import(message.moduleUrl);
  const step = module[message.exportName];
  if (typeof step !== "function") {
    throw new TypeError(
      `Cannot run compute step as '${message.exportName}' is not a function exported by ${message.moduleUrl}`,
    );
  }
  return await step(message.args);
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (event) => {
  const message = event.data;
  if (message?.type !== "run") return;
  const affinity = pin(message.cpuIds);
  scope.postMessage({ type: "pinned", id: message.id, affinity });
  try {
    const result = await runStep(message);
    scope.postMessage({ type: "done", id: message.id, ok: true, result, affinity });
  } catch (error) {
    scope.postMessage({ type: "done", id: message.id, ok: false, error: failure(error), affinity });
  }
};

// Reported in order with the replies (an error event would reach the pool on another path, maybe
// before the reply of the step that left it).
function reportUncaught(event: Event, error: unknown): void {
  event.preventDefault();
  scope.postMessage({ type: "uncaught", error: failure(error) });
}
addEventListener(
  "error",
  (event) => reportUncaught(event, (event as ErrorEvent).error ?? (event as ErrorEvent).message),
);
addEventListener(
  "unhandledrejection",
  (event) => reportUncaught(event, (event as PromiseRejectionEvent).reason),
);

scope.postMessage({ type: "ready" });

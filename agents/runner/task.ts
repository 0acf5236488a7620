/**
 * A Runner's tasks and executors as its client tracks them.
 *
 * @module
 */
import { RunnerFuture } from "./future.ts";
import { TaskQueue } from "./task_queue.ts";

/** An executor as the client sees it. */
export class ExecutorChannel {
  leased = false;
  /** The compute-slots lease it holds (its steps run under it). */
  leaseId = "";
  alive = true;
  inFlight = 0;
  /** Tasks sent and not answered yet. */
  readonly running = new Set<Task>();
  /** Tasks that must run here (their arguments' futures are computed here). */
  readonly pinned = new TaskQueue<Task>("pinned");
  lastContact = Date.now();
  tasksRun = 0;
  constructor(readonly id: string, readonly hostUrl: string, readonly hostName: string) {}
}

export interface Task {
  future: RunnerFuture;
  exportName: string;
  args: unknown[];
  timeoutMs: number;
  retries: number;
  attempts: number;
  /** The executor it was last sent to (where its result is kept). */
  executor?: ExecutorChannel;
  /** The batch it was last sent in. */
  seq?: number;
  state: "blocked" | "queued" | "pinned" | "running" | "done";
  /** Futures in its arguments. */
  deps: RunnerFuture[];
  /** Send every argument's value (an executor no longer had one of them). */
  inline: boolean;
}

/** Futures anywhere in `args` (arrays and plain objects are searched). */
export function futuresIn(value: unknown, into: RunnerFuture[] = []): RunnerFuture[] {
  if (value instanceof RunnerFuture) into.push(value);
  else if (Array.isArray(value)) { for (const v of value) futuresIn(v, into); }
  else if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) futuresIn(v, into);
  }
  return into;
}

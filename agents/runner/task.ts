/**
 * A Runner's tasks and executors as its client tracks them.
 *
 * @module
 */
import { findNonPlainData } from "../wire.ts";
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

/** The arguments with each future replaced by null (they travel as references or values). */
function withoutFutures(value: unknown): unknown {
  if (value instanceof RunnerFuture) return null;
  if (Array.isArray(value)) return value.map(withoutFutures);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutFutures(v)]));
  }
  return value;
}

/**
 * Where a call's arguments hold something that cannot travel to an executor (NaN, a function, a
 * class instance, a cycle; `$` is the argument list), or null. Tagged JSON would carry such a
 * value as null or a plain object, and the task would run on other arguments than it was given.
 */
export function nonPlainArgument(args: unknown[], deps: readonly RunnerFuture[]): string | null {
  return findNonPlainData(deps.length > 0 ? withoutFutures(args) : args);
}

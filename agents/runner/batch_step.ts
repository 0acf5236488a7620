/**
 * The compute step of a Runner executor: runs a batch of tasks, one after another, in a compute
 * worker pinned to the executor's lease. Called by the host's compute worker, not by user code.
 *
 * A task's arguments may hold references to other tasks' results (`{$runnerFuture: id}`): they
 * resolve from `deps` (results the executor kept) or from tasks earlier in the same batch, so a
 * chain of tasks on one executor never sends a value back through the client.
 *
 * @module
 */

/** A reference to another task's result inside a task's arguments. */
export interface FutureRef {
  $runnerFuture: string;
}

/** One task as it travels: the export to call and its arguments. */
export interface TaskWire {
  id: string;
  exportName: string;
  args: unknown[];
  /** The arguments hold future references (saves searching the arguments of every other task). */
  refs?: boolean;
}

/** The failure of a task, as the worker saw it. */
export interface TaskFailure {
  name: string;
  message: string;
  stack?: string;
}

/** What became of one task. `missing` names a referenced result the executor no longer has. */
export type TaskOutcome =
  | { id: string; ok: true; value: unknown }
  | { id: string; ok: false; error: TaskFailure }
  | { id: string; ok: false; missing: string };

/** The step's argument. */
export interface BatchStepArgs {
  moduleUrl: string;
  tasks: TaskWire[];
  deps: Record<string, unknown>;
}

/** The step's result; `ms` is the time spent in the tasks, for batch sizing. */
export interface BatchStepResult {
  outcomes: TaskOutcome[];
  ms: number;
}

/** The export name the executor asks the compute worker to call. */
export const BATCH_STEP_EXPORT = "runTaskBatch";

export function isFutureRef(value: unknown): value is FutureRef {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    typeof (value as FutureRef).$runnerFuture === "string" && Object.keys(value).length === 1;
}

/** Ids of every result `args` refers to (arrays and plain objects are searched). */
export function refsIn(args: unknown, into: Set<string> = new Set()): Set<string> {
  if (isFutureRef(args)) into.add(args.$runnerFuture);
  else if (Array.isArray(args)) { for (const a of args) refsIn(a, into); }
  else if (args !== null && typeof args === "object" && Object.getPrototypeOf(args) === Object.prototype) {
    for (const v of Object.values(args)) refsIn(v, into);
  }
  return into;
}

class MissingResult extends Error {
  constructor(readonly id: string) {
    super(`result of task ${id} is not here`);
  }
}

function resolveRefs(value: unknown, known: Map<string, unknown>): unknown {
  if (isFutureRef(value)) {
    if (!known.has(value.$runnerFuture)) throw new MissingResult(value.$runnerFuture);
    return known.get(value.$runnerFuture);
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, known));
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, known)]));
  }
  return value;
}

function failure(error: unknown): TaskFailure {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { name: "Error", message: String(error) };
}

/** Runs the batch's tasks in order and reports each one's outcome. */
export async function runTaskBatch(input: BatchStepArgs): Promise<BatchStepResult> {
  const started = performance.now();
  const mod = await import(input.moduleUrl) as Record<string, unknown>;
  const known = new Map(Object.entries(input.deps));
  const outcomes: TaskOutcome[] = [];
  for (const task of input.tasks) {
    const fn = mod[task.exportName];
    if (typeof fn !== "function") {
      outcomes.push({
        id: task.id,
        ok: false,
        error: {
          name: "TypeError",
          message: `'${task.exportName}' is not a function exported by ${input.moduleUrl}`,
        },
      });
      continue;
    }
    let args: unknown[];
    try {
      args = task.refs ? resolveRefs(task.args, known) as unknown[] : task.args;
    } catch (err) {
      if (!(err instanceof MissingResult)) throw err;
      outcomes.push({ id: task.id, ok: false, missing: err.id });
      continue;
    }
    try {
      let value = fn(...args);
      if (value instanceof Promise) value = await value;
      known.set(task.id, value);
      outcomes.push({ id: task.id, ok: true, value });
    } catch (error) {
      outcomes.push({ id: task.id, ok: false, error: failure(error) });
    }
  }
  return { outcomes, ms: performance.now() - started };
}

/** Does nothing: starting it under a lease ends the step running there (a timed-out or cancelled task). */
export function endRunningStep(): null {
  return null;
}

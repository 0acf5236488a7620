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
import { type CodeRef, describeCode } from "./code_ref.ts";
import { findNonPlainData } from "../wire.ts";

/** A reference to another task's result inside a task's arguments. */
export interface FutureRef {
  $runnerFuture: number;
}

/** The failure of a task, as the worker saw it. */
export interface TaskFailure {
  name: string;
  message: string;
  stack?: string;
}

/**
 * A batch of tasks as it travels, column by column (a few arrays of plain values cost far less
 * to encode, copy and decode at every hop than an object per task).
 */
export interface BatchWire {
  /** The module whose exports the tasks call. */
  code: CodeRef;
  /** Export names the batch calls. */
  names: string[];
  /** Task ids, in the order they run. */
  ids: number[];
  /** Per task, its index in `names`; absent when every task calls `names[0]`. */
  fns?: number[];
  /** Per task, its arguments. */
  args: unknown[][];
  /** Positions of the tasks whose arguments hold future references. */
  refs?: number[];
}

/** The step's argument: the batch and the results it refers to that the executor kept. */
export interface BatchStepArgs extends BatchWire {
  deps: Record<string, unknown>;
  /** The module's code as a data: URL, sent once a worker said it lacks a module named by hash. */
  source?: string;
}

/**
 * What became of the batch's tasks, by position: `values[i]` unless position `i` is listed in
 * `failures` (the task threw) or `missing` (it refers to a result the executor no longer has).
 * `ms` is the time spent in the tasks, for batch sizing.
 */
export interface BatchOutcome {
  values: unknown[];
  failures: [number, TaskFailure][];
  missing: [number, number][];
  ms: number;
  /** Nothing ran: this worker has not loaded the module named by hash; send its `source`. */
  needsCode?: boolean;
}

/** Modules named by hash that this worker imported, by hash: each is imported once per worker. */
const loaded = new Map<string, Record<string, unknown>>();

/** The module's namespace, or undefined when it is named by hash and this worker lacks it. */
async function moduleOf(input: BatchStepArgs): Promise<Record<string, unknown> | undefined> {
  const { code } = input;
  if ("moduleUrl" in code) return await import(code.moduleUrl);
  let mod = loaded.get(code.hash);
  if (!mod && input.source) {
    // A script's bundle reads the SDK from globalThis: install this thread's copy first. Only
    // then: the SDK is most of what a fresh worker would load for a built-in module's tasks.
    await import("../sdk_global.ts");
    mod = await import(input.source) as Record<string, unknown>;
    loaded.set(code.hash, mod);
  }
  return mod;
}

/** The export name the executor asks the compute worker to call. */
export const BATCH_STEP_EXPORT = "runTaskBatch";

export function isFutureRef(value: unknown): value is FutureRef {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    typeof (value as FutureRef).$runnerFuture === "number" && Object.keys(value).length === 1;
}

/** Ids of every result `args` refers to (arrays and plain objects are searched). */
export function refsIn(args: unknown, into: Set<number> = new Set()): Set<number> {
  if (isFutureRef(args)) into.add(args.$runnerFuture);
  else if (Array.isArray(args)) { for (const a of args) refsIn(a, into); }
  else if (args !== null && typeof args === "object" && Object.getPrototypeOf(args) === Object.prototype) {
    for (const v of Object.values(args)) refsIn(v, into);
  }
  return into;
}

class MissingResult extends Error {
  constructor(readonly id: number) {
    super(`result of task ${id} is not here`);
  }
}

function resolveRefs(value: unknown, known: Map<number, unknown>): unknown {
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

function notPlainValue(name: string, at: string): string {
  return `'${name}' returned a value that is not plain data at ${at}: a task's value must be ` +
    "plain data (objects, arrays, strings, finite numbers, booleans, null, bigint, Uint8Array, Date, Map, Set)";
}

/** Runs the batch's tasks in order and reports each one's outcome. */
export async function runTaskBatch(input: BatchStepArgs): Promise<BatchOutcome> {
  const mod = await moduleOf(input);
  if (!mod) return { values: [], failures: [], missing: [], ms: 0, needsCode: true };
  // Timed from here: loading the module on first use is paid once, and counted as the tasks' cost
  // it would keep a cheap function's batches at one task for many batches.
  const started = performance.now();
  const fns = input.names.map((name) => mod[name]);
  const refs = new Set(input.refs ?? []);
  const known = new Map<number, unknown>();
  for (const [id, value] of Object.entries(input.deps)) known.set(Number(id), value);
  const values: unknown[] = new Array(input.ids.length).fill(null);
  const failures: [number, TaskFailure][] = [];
  const missing: [number, number][] = [];
  for (let i = 0; i < input.ids.length; i++) {
    const fn = fns[input.fns?.[i] ?? 0];
    if (typeof fn !== "function") {
      const name = input.names[input.fns?.[i] ?? 0];
      failures.push([i, {
        name: "TypeError",
        message: `'${name}' is not a function exported by ${describeCode(input.code)}`,
      }]);
      continue;
    }
    let args = input.args[i];
    if (refs.has(i)) {
      try {
        args = resolveRefs(args, known) as unknown[];
      } catch (err) {
        if (!(err instanceof MissingResult)) throw err;
        missing.push([i, err.id]);
        continue;
      }
    }
    try {
      let value = fn(...args);
      if (value instanceof Promise) value = await value;
      // A value that cannot travel fails its own task here; past this point it would fail the
      // whole batch (the worker cannot clone a function, the reply refuses NaN).
      const bad = findNonPlainData(value);
      if (bad) {
        failures.push([i, {
          name: "TypeError",
          message: notPlainValue(input.names[input.fns?.[i] ?? 0], bad),
        }]);
        continue;
      }
      if (refs.size > 0) known.set(input.ids[i], value);
      values[i] = value;
    } catch (error) {
      failures.push([i, failure(error)]);
    }
  }
  return { values, failures, missing, ms: performance.now() - started };
}

/** Does nothing: starting it under a lease ends the step running there (a timed-out or cancelled task). */
export function endRunningStep(): null {
  return null;
}

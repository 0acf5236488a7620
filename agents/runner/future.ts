/**
 * A Runner task's future: awaitable like a promise, cancellable, and usable as an argument of
 * later tasks (the value is resolved where that task runs).
 *
 * @module
 */
import { PagletError } from "../errors.ts";
import type { TaskFailure } from "./batch_step.ts";

export type FutureStatus = "pending" | "fulfilled" | "rejected";

/** A task threw: `remoteName` and `remoteStack` are the error as the executor saw it. */
export class TaskError extends PagletError {
  override name = "TaskError";
  readonly remoteName: string;
  readonly remoteStack: string | undefined;
  constructor(taskId: number, failure: TaskFailure, host: string, functionName?: string) {
    const task = functionName ? `Task ${taskId} ('${functionName}')` : `Task ${taskId}`;
    super("task_failed", `${task} failed on ${host}: ${failure.name}: ${failure.message}`, {
      remoteName: failure.name,
      host,
    });
    this.remoteName = failure.name;
    this.remoteStack = failure.stack;
    // The executor's stack (where the user's function threw) follows this one's. Kept after it, not
    // in its place: Deno 2.9 turns an error whose stack lost its own frames into a plain Error
    // (ERR_MODULE_NOT_FOUND) when it ends a module's evaluation, as a script's top level.
    if (failure.stack) this.stack = `${this.stack}\n  on ${host}:\n${failure.stack}`;
  }
}

/**
 * The result of one task. `await future` (or `rr.get`) gives the value; a failed task rejects with
 * a {@linkcode TaskError} (`task_failed`), `task_timeout`, `task_cancelled` or `executor_lost`.
 */
export class RunnerFuture<T = unknown> implements PromiseLike<T> {
  readonly id: number;
  readonly #promise: Promise<T>;
  #status: FutureStatus = "pending";
  #value: T | undefined;
  #error: unknown;
  #resolve!: (value: T) => void;
  #reject!: (error: unknown) => void;
  readonly #onCancel: (future: RunnerFuture<T>) => void;

  /** @internal Made by a Runner service call. */
  constructor(id: number, onCancel: (future: RunnerFuture<T>) => void) {
    this.id = id;
    this.#onCancel = onCancel;
    this.#promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** @internal The native promise (what `Promise.all` handles fastest). */
  get promise(): Promise<T> {
    return this.#promise;
  }

  get status(): FutureStatus {
    return this.#status;
  }

  /** The value of a fulfilled future. */
  get value(): T | undefined {
    return this.#value;
  }

  /** The error of a rejected future. */
  get error(): unknown {
    return this.#error;
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.#promise.catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.#promise.finally(onFinally);
  }

  /** Cancels the task: it never runs if it has not started, and its result is dropped if it has. */
  cancel(reason = "cancelled by the caller"): boolean {
    if (this.#status !== "pending") return false;
    this.reject(new PagletError("task_cancelled", `Task ${this.id} ${reason}`));
    this.#onCancel(this);
    return true;
  }

  /** @internal */
  resolve(value: T): void {
    if (this.#status !== "pending") return;
    this.#status = "fulfilled";
    this.#value = value;
    this.#resolve(value);
  }

  /** @internal */
  reject(error: unknown): void {
    if (this.#status !== "pending") return;
    this.#status = "rejected";
    this.#error = error;
    // A future nobody awaits must not end the script with an unhandled rejection.
    this.#promise.catch(() => {});
    this.#reject(error);
  }
}

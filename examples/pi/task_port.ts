/**
 * Pi tasks (tasks.ts) sent to a split worker over a MessagePort: the helper of an assembly thread, which
 * must not start workers of its own (see split_worker.ts). Same `run` as PiWorkerPool, one worker.
 *
 * @module
 */
import type { Task, TaskReply, TaskRequest, TaskResult } from "./tasks.ts";
import { PendingReplies } from "./replies.ts";

/** Whatever runs Pi tasks on another thread: a PiWorkerPool, or a PortTaskRunner. */
export interface TaskRunner {
  run<T extends Task>(task: T, index?: number): Promise<TaskResult<T>>;
}

export class PortTaskRunner implements TaskRunner {
  readonly #port: MessagePort;
  readonly #replies = new PendingReplies<TaskReply>();

  constructor(port: MessagePort) {
    this.#port = port;
    port.onmessage = (e: MessageEvent<TaskReply>) => this.#replies.settle(e.data);
    port.start();
  }

  /** Runs a task on the worker at the other end (`index` is ignored: there is one). */
  run<T extends Task>(task: T, _index?: number): Promise<TaskResult<T>> {
    const result = this.#replies.call((id) => this.#port.postMessage({ id, task } satisfies TaskRequest))
      .then((reply) => reply.result as TaskResult<T>);
    result.catch(() => {});
    return result;
  }

  close(): void {
    this.#port.close();
    this.#replies.failAll(new Error("the Pi helper thread was closed"));
  }
}

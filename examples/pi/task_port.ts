/**
 * Pi tasks (tasks.ts) sent to a split worker over a MessagePort: the helper of an assembly thread, which
 * must not start workers of its own (see split_worker.ts). Same `run` as PiWorkerPool, one worker.
 *
 * @module
 */
import type { Task, TaskReply, TaskRequest, TaskResult } from "./tasks.ts";

/** Whatever runs Pi tasks on another thread: a PiWorkerPool, or a PortTaskRunner. */
export interface TaskRunner {
  run<T extends Task>(task: T, index?: number): Promise<TaskResult<T>>;
}

export class PortTaskRunner implements TaskRunner {
  readonly #port: MessagePort;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;

  constructor(port: MessagePort) {
    this.#port = port;
    port.onmessage = (e: MessageEvent<TaskReply>) => {
      const pending = this.#pending.get(e.data.id);
      this.#pending.delete(e.data.id);
      if (!pending) return;
      if (e.data.ok) pending.resolve(e.data.result);
      else pending.reject(new Error(e.data.error));
    };
    port.start();
  }

  /** Runs a task on the worker at the other end (`index` is ignored: there is one). */
  run<T extends Task>(task: T, _index?: number): Promise<TaskResult<T>> {
    const id = this.#nextId++;
    const result = new Promise<TaskResult<T>>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#port.postMessage({ id, task } satisfies TaskRequest);
    });
    result.catch(() => {});
    return result;
  }

  close(): void {
    this.#port.close();
    for (const p of this.#pending.values()) p.reject(new Error("the Pi helper thread was closed"));
    this.#pending.clear();
  }
}

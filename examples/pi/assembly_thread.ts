/**
 * A Pi assembly on a thread of its own (assembly_worker.ts), with a helper reached over a port (a split
 * worker of a PiWorkerPool, see PiWorkerPool.connect). Requests are answered in order; closing ends the
 * thread and fails whatever is still pending.
 *
 * Start it from the main thread (the pi-math service does): Deno 2.9 starts a worker created inside
 * another worker ~0.5 s late. Starting a worker also costs the starting thread ~12 ms, which is why the
 * helper is borrowed rather than started.
 *
 * @module
 */
import type { AssemblyJob, AssemblyUpdate, EndCorrection, TermFragment } from "./assembly.ts";

/** Requests to the assembly worker. */
export type AssemblyRequest =
  | { id: number; op: "open"; job: AssemblyJob; helper?: MessagePort }
  | { id: number; op: "add"; fragment: TermFragment; splitAt?: number; delta?: EndCorrection }
  | { id: number; op: "flush" };

/** Answers of the assembly worker. */
export type AssemblyReply = { id: number; ok: true; result: unknown } | {
  id: number;
  ok: false;
  error: string;
};

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/** A distributive Omit (the request without its id). */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

export class AssemblyThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  /** Settles once the job is open and warm. */
  readonly opened: Promise<void>;

  /** Starts the thread and opens `job` there (precomputing what its end needs); `helper` runs tasks. */
  constructor(job: AssemblyJob, helper?: MessagePort) {
    this.#worker = new Worker(new URL("./assembly_worker.ts", import.meta.url).href, { type: "module" });
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(new Error(`the Pi assembly thread failed: ${e.message}`));
    };
    this.#worker.onmessage = (e: MessageEvent<AssemblyReply>) => {
      const pending = this.#pending.get(e.data.id);
      this.#pending.delete(e.data.id);
      if (!pending) return;
      if (e.data.ok) pending.resolve(e.data.result);
      else pending.reject(new Error(e.data.error));
    };
    this.opened = this.#call({ op: "open", job, helper }, helper ? [helper] : []) as Promise<void>;
    this.opened.catch(() => {});
  }

  add(fragment: TermFragment, splitAt?: number, delta?: EndCorrection): Promise<AssemblyUpdate> {
    return this.#call({ op: "add", fragment, splitAt, delta }) as Promise<AssemblyUpdate>;
  }

  flush(): Promise<AssemblyUpdate> {
    return this.#call({ op: "flush" }) as Promise<AssemblyUpdate>;
  }

  /** Ends the thread (the helper's port closes with it); pending requests fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
    this.#fail(new Error("the Pi assembly thread was closed"));
  }

  #call(request: WithoutId<AssemblyRequest>, transfer: Transferable[] = []): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("the Pi assembly thread was closed"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id } as AssemblyRequest, transfer);
    });
  }

  #fail(error: Error): void {
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }
}

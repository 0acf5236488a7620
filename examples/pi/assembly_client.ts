/**
 * A Pi assembly on a pi worker of a PiWorkerPool (served there by assembly_server.ts), reached over a
 * port of its own, with another worker of the pool as its helper. Requests are answered in order;
 * closing drops the assembly there and fails whatever is still pending, as does the pool failing or
 * closing.
 *
 * The assembly borrows a pool worker rather than running on a thread of its own: a thread of its own
 * cost a worker start (about 30 ms that hold up the starting thread, and as much CPU on the new one,
 * while the batches compute) and every batch's sums a copy into it. Its requests queue behind the
 * batches that worker computes: the end needs them all anyway.
 *
 * @module
 */
import type { AssemblyJob, AssemblyUpdate, EndCorrection, TermFragment } from "./assembly.ts";

/** Requests to an assembly served on a pi worker. */
export type AssemblyRequest =
  | { id: number; op: "open"; job: AssemblyJob; helper?: MessagePort }
  | { id: number; op: "add"; fragment: TermFragment; splitAt?: number; delta?: EndCorrection }
  | { id: number; op: "flush" }
  | { id: number; op: "close" };

/** Answers of the assembly. */
export type AssemblyReply = { id: number; ok: true; result: unknown } | {
  id: number;
  ok: false;
  error: string;
};

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/** A distributive Omit (the request without its id). */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

export class AssemblyClient {
  readonly #port: MessagePort;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  readonly #ended: (() => void) | undefined;
  /** Settles once the job is open. */
  readonly opened: Promise<void>;

  /**
   * Opens `job` on the worker at the other end of `port`; `helper` (a port to another worker) runs
   * tasks; `ended` is called once when the assembly closes or fails.
   */
  constructor(job: AssemblyJob, port: MessagePort, helper?: MessagePort, ended?: () => void) {
    this.#port = port;
    this.#ended = ended;
    port.onmessage = (e: MessageEvent<AssemblyReply>) => {
      const pending = this.#pending.get(e.data.id);
      this.#pending.delete(e.data.id);
      if (!pending) return;
      if (e.data.ok) pending.resolve(e.data.result);
      else pending.reject(new Error(e.data.error));
    };
    port.start();
    this.opened = this.#call({ op: "open", job, helper }, helper ? [helper] : []) as Promise<void>;
    this.opened.catch(() => {});
  }

  add(fragment: TermFragment, splitAt?: number, delta?: EndCorrection): Promise<AssemblyUpdate> {
    return this.#call({ op: "add", fragment, splitAt, delta }) as Promise<AssemblyUpdate>;
  }

  flush(): Promise<AssemblyUpdate> {
    return this.#call({ op: "flush" }) as Promise<AssemblyUpdate>;
  }

  /** Drops the assembly on its worker; pending requests fail. */
  close(): void {
    if (this.#closed) return;
    this.#port.postMessage({ id: 0, op: "close" } satisfies AssemblyRequest);
    this.fail(new Error("the Pi assembly was closed"));
  }

  /** Fails pending and later requests (the worker failed or the pool closed). */
  fail(error: Error): void {
    if (!this.#closed) this.#ended?.();
    this.#closed = true;
    this.#port.close();
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  #call(request: WithoutId<AssemblyRequest>, transfer: Transferable[] = []): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("the Pi assembly was closed"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#port.postMessage({ ...request, id } as AssemblyRequest, transfer);
    });
  }
}

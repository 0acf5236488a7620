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
import type { AssemblyJob, EndCorrection, EndCorrectionSoon, TermFragment } from "./assembly.ts";
import type { DigitsUpdate } from "./digit_bytes.ts";
import { type IdReply, PendingReplies } from "./replies.ts";

/** Requests to an assembly served on a pi worker. */
export type AssemblyRequest =
  | { id: number; op: "open"; job: AssemblyJob; helper?: MessagePort }
  | {
    id: number;
    op: "add";
    fragment: TermFragment;
    splitAt?: number;
    delta?: EndCorrection;
    deltaFollows?: true;
  }
  /** The correction an `add` with `deltaFollows` announced (unanswered: it settles that add's end). */
  | { id: number; op: "delta"; delta?: EndCorrection }
  | { id: number; op: "flush" }
  | { id: number; op: "close" };

/** Answers of the assembly. */
export type AssemblyReply = IdReply;

/** A distributive Omit (the request without its id). */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

export class AssemblyClient {
  readonly #port: MessagePort;
  readonly #replies = new PendingReplies();
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
    port.onmessage = (e: MessageEvent<AssemblyReply>) => this.#replies.settle(e.data);
    port.start();
    this.opened = this.#call({ op: "open", job, helper }, helper ? [helper] : []) as Promise<void>;
    this.opened.catch(() => {});
  }

  /**
   * Adds a fragment. A `delta` still being computed (a promise) follows in a message of its own, so
   * that the fragment crosses to the worker while the correction runs.
   */
  add(
    fragment: TermFragment,
    splitAt?: number,
    delta?: EndCorrectionSoon,
  ): Promise<DigitsUpdate> {
    if (!(delta instanceof Promise)) {
      return this.#call({ op: "add", fragment, splitAt, delta }) as Promise<DigitsUpdate>;
    }
    const added = this.#call({ op: "add", fragment, splitAt, deltaFollows: true }) as Promise<DigitsUpdate>;
    const send = (value: EndCorrection | undefined) => {
      if (!this.#closed) {
        this.#port.postMessage({ id: 0, op: "delta", delta: value } satisfies AssemblyRequest);
      }
    };
    delta.then(send, () => send(undefined));
    return added;
  }

  flush(): Promise<DigitsUpdate> {
    return this.#call({ op: "flush" }) as Promise<DigitsUpdate>;
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
    this.#replies.failAll(error);
  }

  #call(request: WithoutId<AssemblyRequest>, transfer: Transferable[] = []): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("the Pi assembly was closed"));
    return this.#replies.call((id) => this.#port.postMessage({ ...request, id } as AssemblyRequest, transfer))
      .then((reply) => reply.result);
  }
}

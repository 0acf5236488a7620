/**
 * A lean request/reply protocol over a MessagePort, for the hot paths between the kernel and its
 * agent workers (message delivery, context calls). Comlink carries the control plane (init,
 * start, stop, snapshot); per call it adds a proxy walk, a random id, wire wrapping of every
 * argument and a second envelope, which measured as about a third of a message round trip.
 *
 * Frames are arrays: a request `[0, seq, method, args]`, a reply `[1, seq, ok, value]`, a
 * notification `[2, method, args]`. Errors travel in wire form (`{code, message}`).
 *
 * @example
 * ```ts
 * const { port1, port2 } = new MessageChannel();
 * const a = new PortRpc(port1, () => undefined);
 * const b = new PortRpc(port2, (method, args) => method === "add" ? (args[0] as number) + (args[1] as number) : null);
 * console.log(await a.call("add", [1, 2])); // 3
 * ```
 */
import { PagletError } from "../../agents/errors.ts";

/** Serves the requests and notifications of the other side; its value (or throw) is the reply. */
export type RpcHandler = (method: string, args: unknown[]) => unknown;

type Frame = [0, number, string, unknown[]] | [1, number, boolean, unknown] | [2, string, unknown[]];

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class PortRpc {
  readonly #port: MessagePort;
  readonly #handler: RpcHandler;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #closed: PagletError | null = null;

  constructor(port: MessagePort, handler: RpcHandler) {
    this.#port = port;
    this.#handler = handler;
    port.onmessage = (event: MessageEvent<Frame>) => this.#receive(event.data);
    port.start();
  }

  /** Calls `method` on the other side and resolves with its reply. */
  call<T = unknown>(method: string, args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closed);
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(seq, { resolve: resolve as (value: unknown) => void, reject });
      this.#port.postMessage([0, seq, method, args]);
    });
  }

  /** Sends a notification (no reply). */
  notify(method: string, args: unknown[]): void {
    if (!this.#closed) this.#port.postMessage([2, method, args]);
  }

  /** Calls still waiting for their reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Closes the port; every pending call fails with `error`. */
  close(error = new PagletError("worker_lost", "The worker ended")): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#port.onmessage = null;
    this.#port.close();
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  #receive(frame: Frame): void {
    if (frame[0] === 1) {
      const pending = this.#pending.get(frame[1]);
      if (!pending) return;
      this.#pending.delete(frame[1]);
      if (frame[2]) pending.resolve(frame[3]);
      else pending.reject(PagletError.fromWire(frame[3]));
      return;
    }
    if (frame[0] === 2) {
      try {
        this.#handler(frame[1], frame[2]);
      } catch { /* notifications have nobody to answer */ }
      return;
    }
    const seq = frame[1];
    let result: unknown;
    try {
      result = this.#handler(frame[2], frame[3]);
    } catch (err) {
      this.#reply(seq, false, PagletError.from(err).toWire());
      return;
    }
    // Synchronous handlers answer at once; only promises pay for a microtask hop.
    if (result instanceof Promise) {
      result.then(
        (value) => this.#reply(seq, true, value),
        (err) => this.#reply(seq, false, PagletError.from(err).toWire()),
      );
    } else {
      this.#reply(seq, true, result);
    }
  }

  #reply(seq: number, ok: boolean, value: unknown): void {
    if (this.#closed) return;
    try {
      this.#port.postMessage([1, seq, ok, value]);
    } catch (err) {
      // The value could not be cloned (a function, a class instance with private state, ...).
      this.#port.postMessage([
        1,
        seq,
        false,
        new PagletError("invalid_request", `Reply cannot be sent: ${(err as Error).message}`).toWire(),
      ]);
    }
  }
}

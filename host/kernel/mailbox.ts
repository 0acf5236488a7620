/**
 * A paglet's mailbox: higher priority first, FIFO within a priority, one handler at a time.
 * Priority 0 (unqueued) goes ahead of everything still waiting.
 */
import type { Message } from "../../agents/message.ts";

/**
 * How the sender asked for a message: kept with it so that a message re-routed from a mailbox
 * (the agent moved or went inactive first) keeps its oneway flag and what is left of its timeout.
 */
export interface Delivery {
  oneway?: boolean;
  /** Epoch ms after which nobody waits for the reply any more. */
  deadline?: number;
  /** The message is stored for the agent (it arrived while it was inactive) under this `seq`. */
  queuedSeq?: number;
}

/** A message waiting in a mailbox, with whoever waits for its reply. */
export interface Waiting {
  message: Message;
  delivery?: Delivery;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Envelope extends Waiting {
  rank: number;
  seq: number;
}

export type Deliver = (message: Message, delivery: Delivery | undefined) => Promise<unknown>;

export class Mailbox {
  readonly #queue: Envelope[] = [];
  readonly #deliver: Deliver;
  #seq = 0;
  #busy = false;
  #paused = false;
  #idleWaiters: (() => void)[] = [];
  delivered = 0;
  failed = 0;

  constructor(deliver: Deliver) {
    this.#deliver = deliver;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get busy(): boolean {
    return this.#busy;
  }

  /** Queues a message; resolves with the handler's reply. */
  post(message: Message, delivery?: Delivery): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const rank = message.priority === 0 ? Number.MAX_SAFE_INTEGER : message.priority;
      const envelope: Envelope = { message, delivery, rank, seq: this.#seq++, resolve, reject };
      // Insert after every envelope of equal or higher rank (FIFO within a priority).
      let i = this.#queue.length;
      while (i > 0 && this.#queue[i - 1].rank < rank) i--;
      this.#queue.splice(i, 0, envelope);
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#busy) return;
    const next = this.#paused ? undefined : this.#queue.shift();
    if (!next) {
      // Idle (or paused with the handler in progress done): whoever waits in pause() goes on.
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
      return;
    }
    this.#busy = true;
    let pending: Promise<unknown>;
    try {
      pending = this.#deliver(next.message, next.delivery);
    } catch (error) {
      pending = Promise.reject(error);
    }
    // One reaction per message (no .finally chain): this is the hot path of every delivery.
    pending.then(
      (value) => {
        this.delivered++;
        this.#busy = false;
        next.resolve(value);
        this.#pump();
      },
      (error) => {
        this.failed++;
        this.#busy = false;
        next.reject(error);
        this.#pump();
      },
    );
  }

  /** Stops handing out messages; resolves once the handler in progress (if any) has returned. */
  pause(): Promise<void> {
    this.#paused = true;
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  /** Removes and returns every waiting message (the caller re-routes them). */
  drain(): Waiting[] {
    return this.#queue.splice(0, this.#queue.length);
  }
}

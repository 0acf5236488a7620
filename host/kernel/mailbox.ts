/**
 * A paglet's mailbox: higher priority first, FIFO within a priority. Priority 0 (unqueued) goes
 * ahead of everything still waiting.
 *
 * Up to {@link WINDOW} messages are handed to the worker before the first of them is answered: the
 * worker still runs the paglet's handlers one at a time, in that order, but the next message is
 * already there when a handler returns, and messages that are ready together cross to the worker
 * in one batch. The worker orders what it holds by priority too (agent_worker.ts), so priorities
 * hold as before unless more than a window of messages wait.
 */
import type { Message } from "../../agents/message.ts";
import { PagletError } from "../../agents/errors.ts";

/** Messages of one paglet handed to its worker and not yet answered, at most. */
export const WINDOW = 8;

/**
 * How the sender asked for a message: kept with it so that a message re-routed from a mailbox
 * (the agent moved or went inactive first) keeps its oneway flag and what is left of its timeout.
 */
export interface Delivery {
  oneway?: boolean;
  /**
   * When nobody waits for the reply any more, on this process's monotonic clock
   * (`performance.now()`, as the sender's own timer): a step of the wall clock changes nothing.
   */
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

/**
 * What a waiting message resolves with when it was stored for its agent instead of handled (the
 * agent went inactive, moved or was restored first): its sender is answered as for a message queued
 * at once (`202 {queued, messageId}`), not given this as a reply.
 */
export class StillQueued {
  constructor(readonly messageId: string) {}
}

/** A waiting message's outcome from a delivery made for it elsewhere (redelivered, forwarded). */
export function outcomeOf(
  result: { reply: unknown } | { queued: true; messageId: string } | { accepted: true },
): unknown {
  if ("reply" in result) return result.reply;
  if ("queued" in result) return new StillQueued(result.messageId);
  return result;
}

/**
 * Whether the sender of a message stopped waiting for its reply before `now` (it got `timeout`): a
 * message in that state that has not reached its agent's worker is not delivered at all.
 */
export function expired(delivery: Delivery | undefined, now: number): boolean {
  return delivery?.deadline !== undefined && !delivery.oneway && delivery.deadline <= now;
}

/** What is left of a delivery's reply timeout (at least 1 ms), or undefined when it has none. */
export function timeLeft(delivery: Delivery | undefined): number | undefined {
  return delivery?.deadline === undefined ? undefined : Math.max(1, delivery.deadline - performance.now());
}

/** The error of a message not delivered because its sender's time ran out first. */
export function tooLate(message: Message): PagletError {
  return new PagletError(
    "timeout",
    `The reply timeout of '${message.kind}' ran out before the message reached its agent: it was not delivered`,
  );
}

/** A message's reply time, counted from its arrival: a wait before it reaches its mailbox counts too. */
export interface ReplyBudget {
  /** When the time is up (`performance.now()`). */
  until: number;
  /** The timeout asked for. */
  ms: number;
}

/** The budget of a message sent with `options`; null for a oneway one or one without a timeout. */
export function replyBudget(options: { timeoutMs?: number; oneway?: boolean }): ReplyBudget | null {
  return options.timeoutMs && !options.oneway
    ? { until: performance.now() + options.timeoutMs, ms: options.timeoutMs }
    : null;
}

/** What is left of `budget` for the reply; `timeout` when nothing is (the message is then not delivered). */
export function budgetLeft(budget: ReplyBudget, id: string, message: Message): number {
  const left = Math.round(budget.until - performance.now());
  if (left < 1) throw waitedTooLong(id, message, budget.ms);
  return left;
}

/** The timeout of a message whose time ran out before it could be handed to its agent. */
export function waitedTooLong(id: string, message: Message, timeoutMs: number): PagletError {
  return new PagletError(
    "timeout",
    `Agent ${id} did not reply to '${message.kind}' within ${timeoutMs} ms: it was moving, ` +
      `deactivating or starting meanwhile, and the message was not delivered`,
  );
}

export class Mailbox {
  readonly #queue: Envelope[] = [];
  readonly #deliver: Deliver;
  readonly #window: number;
  #seq = 0;
  /** Messages handed to the worker and not yet answered. */
  #inFlight = 0;
  #paused = false;
  /** Held while the paglet's state is being restored (see {@link hold}). */
  #held = false;
  #idleWaiters: (() => void)[] = [];
  delivered = 0;
  failed = 0;

  /** `window`: messages handed out before the first is answered (1: strictly one at a time). */
  constructor(deliver: Deliver, window = WINDOW) {
    this.#deliver = deliver;
    this.#window = window;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** A handler is running or a message is on its way to one. */
  get busy(): boolean {
    return this.#inFlight > 0;
  }

  /** Queues a message; resolves with the handler's reply. */
  post(message: Message, delivery?: Delivery): Promise<unknown> {
    return new Promise((resolve, reject) => this.enqueue({ message, delivery, resolve, reject }));
  }

  /** Queues a message; its handler's reply goes to `waiting.resolve` (a failure to `reject`). */
  enqueue({ message, delivery, resolve, reject }: Waiting): void {
    const rank = message.priority === 0 ? Number.MAX_SAFE_INTEGER : message.priority;
    const envelope = { message, delivery, rank, seq: this.#seq++, resolve, reject };
    if (this.#queue.length === 0 && this.#mayDispatch()) {
      this.#dispatch(envelope); // nothing waits ahead of it: straight to the worker
    } else {
      this.#insert(envelope);
      this.#pump();
    }
  }

  /**
   * Queues a message that waited elsewhere (drained for a restore or a move that failed): one whose
   * sender gave up meanwhile is not delivered.
   */
  putBack(waiting: Waiting): void {
    if (expired(waiting.delivery, performance.now())) waiting.reject(tooLate(waiting.message));
    else this.enqueue(waiting);
  }

  #mayDispatch(): boolean {
    return !this.#paused && !this.#held && this.#inFlight < this.#window;
  }

  /** Inserts after every envelope of higher rank, and of equal rank and lower seq (FIFO within a priority). */
  #insert(envelope: Envelope): void {
    const queue = this.#queue;
    let i = queue.length;
    while (
      i > 0 &&
      (queue[i - 1].rank < envelope.rank ||
        (queue[i - 1].rank === envelope.rank && queue[i - 1].seq > envelope.seq))
    ) i--;
    if (i === queue.length) queue.push(envelope);
    else queue.splice(i, 0, envelope);
  }

  #pump(): void {
    let now = 0;
    while (this.#queue.length > 0 && this.#mayDispatch()) {
      const next = this.#queue.shift()!;
      if (expired(next.delivery, now ||= performance.now())) next.reject(tooLate(next.message));
      else this.#dispatch(next);
    }
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0 && (this.#paused || this.#queue.length === 0)) {
      // Idle (or paused with the handlers in progress done): whoever waits in pause() goes on.
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #dispatch(next: Envelope): void {
    this.#inFlight++;
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
        this.#inFlight--;
        next.resolve(value);
        this.#pump();
      },
      (error) => {
        this.#inFlight--;
        if (error instanceof PagletError && error.code === "agent_left") {
          // Never handled: the paglet left the worker first. It waits here again, in its place,
          // for whatever drains this mailbox (the transition that made the paglet leave).
          this.#insert(next);
        } else {
          this.failed++;
          next.reject(error);
        }
        this.#pump();
      },
    );
  }

  /** Stops handing out messages; resolves once the handlers in progress (if any) have returned. */
  pause(): Promise<void> {
    this.#paused = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  /** Hands out nothing until {@link release}, independently of pause/resume (a state restore). */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    this.#pump();
  }

  /** Removes and returns every waiting message (the caller re-routes them). */
  drain(): Waiting[] {
    return this.#queue.splice(0, this.#queue.length);
  }
}

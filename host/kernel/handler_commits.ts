/**
 * A message's way through its handler to its reply: the worker runs the handler, the state it left
 * is stored with the next group commit (state_commits.ts), and only then does the reply leave, after
 * the replies of the agent's handlers before it. A change that cannot be stored is undone (the agent
 * gets its stored state back), and with it every reply of a handler that ran on it.
 */
import { PagletError } from "../../agents/errors.ts";
import type { Message } from "../../agents/message.ts";
import type { AgentStore } from "../storage/agent_store.ts";
import type { Delivery } from "./mailbox.ts";
import type { StateCommits, StateWrite } from "./state_commits.ts";
import type { WorkerPool } from "./worker_pool.ts";
import { DURABLE, type LiveAgent } from "./live_agent.ts";

/*
 * Functions made for every message are methods or anonymous here, never named closures: the host's
 * bundle keeps names (`--keep-names`), and a named closure costs each call an
 * Object.defineProperty of its name (measured: about 0.3 µs of the kernel thread per closure and
 * message).
 */

/** The reply of a handler that wrote nothing, once the writes before it were made. */
function madeReply(agent: LiveAgent, epoch: number, reply: unknown): unknown {
  if (agent.epoch !== epoch) throw agent.writeFailure;
  return reply;
}

/** A handler's write (state_commits.ts), refused once a write before it failed. */
class HandlerWrite implements StateWrite {
  readonly #agent: LiveAgent;
  readonly #epoch: number;
  readonly #onFailed: WriteFailed;

  constructor(
    agent: LiveAgent,
    epoch: number,
    readonly state: Uint8Array | undefined,
    readonly dequeue: number | undefined,
    onFailed: WriteFailed,
  ) {
    this.#agent = agent;
    this.#epoch = epoch;
    this.#onFailed = onFailed;
  }

  get id(): string {
    return this.#agent.id;
  }

  refused(): unknown {
    return this.#agent.epoch === this.#epoch ? undefined : this.#agent.writeFailure;
  }

  failed(err: unknown): void {
    this.#onFailed(this.#agent, this.#epoch, err);
  }
}

type WriteFailed = (agent: LiveAgent, epoch: number, err: unknown) => void;

export class HandlerCommits {
  readonly #pool: WorkerPool;
  readonly #commits: StateCommits;
  readonly #store: AgentStore;
  /** Whether `agent` is still the live instance of its id (a restore is for that instance only). */
  readonly #current: (agent: LiveAgent) => boolean;
  /** {@link #writeFailed}, made once for every write to call. */
  readonly #onWriteFailed: WriteFailed = (agent, epoch, err) => this.#writeFailed(agent, epoch, err);

  constructor(
    pool: WorkerPool,
    commits: StateCommits,
    store: AgentStore,
    current: (agent: LiveAgent) => boolean,
  ) {
    this.#pool = pool;
    this.#commits = commits;
    this.#store = store;
    this.#current = current;
  }

  /**
   * Runs the agent's handler; the reply is sent once the state it left is stored (one group commit
   * for all replies ready at once), together with the removal of the stored message it handled,
   * and after the replies of the handlers before it.
   */
  handle(agent: LiveAgent, message: Message, delivery: Delivery | undefined): Promise<unknown> {
    const dequeue = delivery?.queuedSeq;
    if (dequeue === undefined) return this.#handle(agent, message, undefined);
    // A stored message: checkpoints wait until its effect is stored with its removal (live_agent.ts).
    agent.storedInFlight++;
    const handled = this.#handle(agent, message, dequeue);
    const done = () => void agent.storedInFlight--;
    handled.then(done, done);
    return handled;
  }

  #handle(agent: LiveAgent, message: Message, dequeue: number | undefined): Promise<unknown> {
    const epoch = agent.epoch;
    return this.#pool.deliver(agent.slot, agent.id, message).then(
      ([reply, change]) => {
        if (change === "checkpoint") agent.dirty = agent.checkpointDurable = true;
        const state = typeof change === "string" ? undefined : change;
        if (!state && dequeue === undefined) {
          // Nothing to write: in order after the writes before it, and only if they were made. (A
          // read under light load has nothing to wait for: no extra turn.)
          const last = agent.lastWrite;
          if (!last) return madeReply(agent, epoch, reply);
          return last.then(() => madeReply(agent, epoch, reply), () => madeReply(agent, epoch, reply));
        }
        const write = this.#write(agent, epoch, state, dequeue);
        agent.lastWrite = write;
        return write.then(() => {
          if (agent.lastWrite === write) agent.lastWrite = null;
          return reply;
        }, (err) => {
          if (agent.lastWrite === write) agent.lastWrite = null;
          throw err;
        });
      },
      async (err) => {
        // Never handled: the agent left its worker first (a dispatch from its own handler). The
        // message goes back to the mailbox at once, for the departure to take along; a stored one
        // stays stored and travels with the agent (dispatcher.ts).
        if (err instanceof PagletError && err.code === "agent_left") throw err;
        // A failed handler may have changed the state before it threw: the checkpoint saves it.
        agent.dirty = true;
        // A stored message whose worker ended under it (replaced, or the host stopping) was not
        // handled in any way that lasts: the agent comes back from its record, so the message stays
        // stored and is handed over again by that start.
        if (dequeue !== undefined && !agent.slot.ended) await this.#commits.save({ id: agent.id, dequeue });
        throw err;
      },
    );
  }

  /**
   * Stores what a handler did (see handle). Handlers of one agent run ahead of their commits (the
   * mailbox's window): a change that cannot be stored is undone, and with it every reply of a
   * handler that ran on it.
   */
  #write(
    agent: LiveAgent,
    epoch: number,
    state: Uint8Array | undefined,
    dequeue: number | undefined,
  ): Promise<void> {
    const write = new HandlerWrite(agent, epoch, state, dequeue, this.#onWriteFailed);
    // After the record that made the agent live: an update before it would find no active row.
    if (agent.durable === DURABLE) return this.#commits.save(write);
    return agent.durable.then(() => this.#commits.save(write));
  }

  /** A write of `agent` failed: back to its stored state, as after a crash, before it handles more. */
  #writeFailed(agent: LiveAgent, epoch: number, err: unknown): void {
    if (agent.epoch !== epoch) return;
    agent.epoch++;
    agent.writeFailure = err;
    agent.mailbox.hold();
    void (async () => {
      const record = await this.#store.get(agent.id);
      if (record && this.#current(agent)) {
        await agent.slot.rpc.call("restore", [agent.id, record.state]);
      }
    })().catch(() => {
      // The stored state could not be read back: the agent keeps the state it has, marked dirty
      // so that the next checkpoint stores it (as after a failed handler).
      agent.dirty = true;
    }).finally(() => agent.mailbox.release());
  }
}

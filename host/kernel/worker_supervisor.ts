/**
 * Worker supervision: tells a worker stuck in agent code from a busy one, and replaces a stuck
 * worker, bringing the other agents that lived in it back from their last checkpoint.
 */
import { PagletError } from "../../agents/errors.ts";
import type { AgentRecord, AgentStore } from "../storage/agent_store.ts";
import { StillQueued } from "./mailbox.ts";
import type { LiveAgent } from "./live_agent.ts";
import type { EventLog } from "./events.ts";
import type { DeadlineQueue } from "./timeouts.ts";
import { stoppedByShutdown, type WorkerPool, type WorkerSlot } from "./worker_pool.ts";

/** What the supervisor needs of the runtime that owns the live agents. */
export interface SupervisedAgents {
  /** The live agents in `slot`. */
  in(slot: WorkerSlot): LiveAgent[];
  /** Whether `agent` is still the running instance of its id. */
  current(agent: LiveAgent): boolean;
  /**
   * Drops `agent` from the live table without any hook (its worker is gone); what the host held for
   * that instance (a compute step running for it) is let go.
   */
  unregister(agent: LiveAgent): void;
  /**
   * Starts the agent again from its stored record, as after a host crash, but saying why
   * (onActivation `worker-replaced`).
   */
  restart(record: AgentRecord): Promise<LiveAgent>;
  markCrashed(id: string, type: string, message: string): Promise<void>;
}

export class WorkerSupervisor {
  readonly #pool: WorkerPool;
  readonly #store: AgentStore;
  readonly #events: EventLog;
  readonly #deadlines: DeadlineQueue;
  readonly #stuckAfterMs: number;
  readonly #agents: SupervisedAgents;

  constructor(
    pool: WorkerPool,
    store: AgentStore,
    events: EventLog,
    deadlines: DeadlineQueue,
    stuckAfterMs: number,
    agents: SupervisedAgents,
  ) {
    this.#pool = pool;
    this.#store = store;
    this.#events = events;
    this.#deadlines = deadlines;
    this.#stuckAfterMs = stuckAfterMs;
    this.#agents = agents;
  }

  /** Does the worker in `slot` answer a ping soon (or is its thread stuck in agent code)? */
  async answers(slot: WorkerSlot): Promise<boolean> {
    return await this.#deadlines.race(slot.rpc.call("ping", []), Math.max(50, this.#stuckAfterMs / 4)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Terminates the worker of `stuck` (which does not give that agent up), and restores its other
   * agents from their last checkpoint. Deliveries to them wait for the restore; calls that were
   * under way in the old worker fail with `worker_lost`.
   */
  async replace(stuck: LiveAgent): Promise<void> {
    await this.#replace(stuck.slot, stuck);
  }

  /**
   * The worker of `slot` ended on an error that escaped it, or loops in code it loads (`looping`;
   * worker_pool.ts onLost): a new worker takes its slot and every agent that lived in it comes back
   * from its last checkpoint.
   */
  async lost(slot: WorkerSlot, error: string, looping: boolean): Promise<void> {
    await this.#replace(slot, null, error, looping);
  }

  async #replace(slot: WorkerSlot, stuck: LiveAgent | null, error?: string, looping = false): Promise<void> {
    const others = this.#agents.in(slot).filter((agent) => agent.id !== stuck?.id);
    const restoring = Promise.withResolvers<void>();
    for (const agent of others) {
      if (!agent.transition) {
        agent.transition = restoring.promise;
        agent.transitionKind = "restore";
      }
      void agent.mailbox.pause();
    }
    try {
      // A replacement that cannot start (no descriptor left) leaves the slot out of the pool; the
      // agents come back in the other workers all the same.
      const replaced = await this.#pool.replace(slot, stuck !== null || looping).then(
        () => null,
        (err) => err,
      );
      this.#events.emit("worker-replaced", {
        agentId: stuck?.id,
        data: {
          worker: slot.index,
          agents: slot.agents.size,
          ...(error === undefined ? {} : { error }),
          ...(replaced === null ? {} : { replacement: PagletError.from(replaced).message }),
        },
      });
      for (const agent of others) {
        if (this.#agents.current(agent)) await this.#restore(agent);
      }
    } finally {
      for (const agent of others) {
        if (agent.transition !== restoring.promise) continue;
        agent.transition = null;
        agent.transitionKind = null;
      }
      restoring.resolve();
    }
  }

  async #restore(agent: LiveAgent): Promise<void> {
    this.#agents.unregister(agent);
    const waiting = agent.mailbox.drain();
    const record = await this.#store.get(agent.id);
    if (!record) {
      for (const w of waiting) w.reject(new PagletError("agent_not_found", `Agent ${agent.id} is gone`));
      return;
    }
    try {
      const restored = await this.#agents.restart(record);
      for (const w of waiting) {
        if (w.delivery?.queuedSeq === undefined) restored.mailbox.putBack(w);
        // A stored message: the restart read it from the store and handed it over again already.
        else w.resolve(new StillQueued(w.message.id));
      }
      this.#events.emit("restore", {
        agentId: agent.id,
        type: record.type,
        data: { reason: "worker-replaced" },
      });
    } catch (err) {
      for (const w of waiting) w.reject(err);
      if (stoppedByShutdown(err)) return; // still active in the store: restored at the next start
      await this.#agents.markCrashed(agent.id, record.type, PagletError.from(err).message);
    }
  }
}

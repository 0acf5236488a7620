/**
 * The ways a live agent leaves its worker: deactivation to disk, disposal, and the detach a
 * dispatch or clone starts with. Each runs as the agent's one transition at a time: its mailbox is
 * paused (the handlers in progress return first), deliveries that arrive meanwhile wait for the
 * outcome (LiveAgent.transition), and a transition that fails gives the agent its mailbox back.
 * The runtime (agent_runtime.ts) owns the table of live agents and hands this module what it
 * needs of it ({@link AgentTable}).
 */
import { PagletError } from "../../agents/errors.ts";
import type { Message } from "../../agents/message.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import { type PolicyInput, requestedPolicy } from "../../agents/policy.ts";
import type { AgentRecord, AgentStore } from "../storage/agent_store.ts";
import type { EventLog } from "./events.ts";
import type { InactiveQueue } from "./inactive_queue.ts";
import type { LiveAgent, TransitionKind } from "./live_agent.ts";
import type { Delivery, Mailbox } from "./mailbox.ts";
import { DISPOSING_TIMEOUT_MS, HOOK_TIMEOUT_MS, withinHookDeadline } from "./hook_deadline.ts";
import { type DeadlineQueue, withTimeout } from "./timeouts.ts";
import type { WorkerSupervisor } from "./worker_supervisor.ts";

/** How long a transition waits for the agent's handlers in progress before `agent_busy`. */
const PAUSE_TIMEOUT_MS = 30_000;

/** What the departures need of the runtime's table of agents. */
export interface AgentTable {
  /** The live instance of `id`. */
  live(id: string): LiveAgent | undefined;
  /** A start of `id` under way. */
  starting(id: string): Promise<LiveAgent> | undefined;
  /** A handoff of `id` owned by another part of the host (see AgentRuntime.hold). */
  settling(id: string): Promise<unknown> | undefined;
  /** Takes the agent out of the table and its worker; tells whoever watches agents go. */
  forget(agent: LiveAgent, why: string): void;
  /** Fails every message waiting in the agent's mailbox with `agent_not_found`. */
  failQueued(agent: LiveAgent, why: string): void;
  /** A lifecycle event for a hook, stamped with this host. */
  event(kind: LifecycleEvent["kind"], extra?: Partial<LifecycleEvent>): LifecycleEvent;
  /** Delivers again a message that waited for a deactivating agent; resolves with its reply. */
  redeliver(id: string, message: Message, delivery: Delivery | undefined): Promise<unknown>;
  /** Called when an agent is gone from this host; `asleep`: the record of one disposed inactive. */
  gone(id: string, why: string, asleep?: AgentRecord): void;
  /** The error for a request to `id`, recorded moving here (moving_error.ts). */
  movingError(id: string): PagletError;
}

export interface DepartureParts {
  table: AgentTable;
  store: AgentStore;
  events: EventLog;
  queue: InactiveQueue;
  deadlines: DeadlineQueue;
  supervisor: WorkerSupervisor;
  /** How long a dispose waits for a running handler (RuntimeOptions). */
  stuckAfterMs: number;
  /**
   * How long `onDeactivating` and `onDispatching` may take, and `onDisposing` when that is less
   * than {@link DISPOSING_TIMEOUT_MS}. @default 30000 (hook_deadline.ts)
   */
  hookTimeoutMs?: number;
  /** Reports an error nothing caught in a worker (a `worker-error` event; RuntimeOptions). */
  workerError: (worker: string, error: string) => void;
}

export class Departures {
  readonly #p: DepartureParts;

  constructor(parts: DepartureParts) {
    this.#p = parts;
  }

  /** See AgentRuntime.deactivate. */
  async deactivate(
    id: string,
    policyInput: PolicyInput,
    reason: string,
    fromSelf: boolean,
  ): Promise<AgentRecord> {
    const policy = requestedPolicy(policyInput);
    const { table, store, queue, events } = this.#p;
    return await this.#transition(id, "deactivate", fromSelf, async (agent) => {
      const state = await this.#leave(agent, table.event("deactivating", { reason, policy }));
      const record: AgentRecord = {
        id,
        type: agent.type,
        status: "inactive",
        state,
        policy,
        createdAt: agent.createdAt,
        updatedAt: Date.now(),
        meta: agent.meta,
      };
      try {
        await store.put(record);
      } catch (err) {
        // Not stored, so it stays active: back in its worker with the state it left with.
        await this.#startAgain(agent, state);
        throw err;
      }
      // The messages that waited in its mailbox go first, while the agent is still in transition:
      // a message sent meanwhile waits for the transition's end, so it is stored after them.
      await queue.requeue(
        agent,
        policy,
        (message, delivery) => table.redeliver(id, message, delivery),
      );
      table.forget(agent, "deactivate");
      events.emit("deactivate", {
        agentId: id,
        type: agent.type,
        data: { reason, activateAt: policy.activateAt },
      });
      return record;
    });
  }

  /** See AgentRuntime.leaveSelf. */
  async leaveSelf(id: string, leave: () => Promise<unknown>): Promise<void> {
    // run() may ask before its start's reply has made it live (they cross in one batch): that start
    // decides whether it is here.
    const agent = this.#p.table.live(id) ?? await this.#p.table.starting(id)?.catch(() => undefined);
    if (!agent) throw new PagletError("agent_not_found", `Agent ${id} is not active on this host`);
    if (!agent.mailbox.busy) {
      await leave();
      return;
    }
    leave().catch((err) =>
      this.#p.events.emit("leave-failed", {
        agentId: id,
        type: agent.type,
        error: PagletError.from(err).message,
      })
    );
  }

  /** See AgentRuntime.dispose. */
  async dispose(id: string, fromSelf: boolean): Promise<void> {
    const { table, store, events } = this.#p;
    if (!fromSelf) await table.settling(id);
    // Only waiting for a start under way to end: its caller reports a failure.
    await table.starting(id)?.catch(() => {});
    if (!table.live(id)) {
      const record = await store.get(id);
      // None here (maybe moved on: named), or a departure its target has not confirmed: deleting the
      // record would not stop the agent from living on at the target once it confirms.
      if (!record || record.status === "moving") throw await this.#notLive(id, false);
      await store.delete(id);
      events.emit("dispose", { agentId: id, type: record.type });
      table.gone(id, "dispose", record);
      return;
    }
    try {
      await this.#disposeLive(id, fromSelf);
    } catch (err) {
      // It went inactive (or moved) while we waited for its turn: dispose what is stored now.
      const changed = err instanceof PagletError &&
        (err.code === "state_conflict" || err.code === "agent_busy");
      if (!changed || table.live(id)) throw err;
      const status = (await store.get(id))?.status;
      if (status !== "inactive" && status !== "crashed") throw err;
      await this.dispose(id, fromSelf);
    }
  }

  async #disposeLive(id: string, fromSelf: boolean): Promise<void> {
    const { table, deadlines, supervisor, stuckAfterMs } = this.#p;
    await this.#transition(id, "dispose", true, async (agent) => {
      if (!fromSelf && agent.mailbox.busy) {
        const idle = await deadlines.race(agent.mailbox.pause(), stuckAfterMs).then(
          () => true,
          () => false,
        );
        if (!idle && !(await supervisor.answers(agent.slot))) {
          await supervisor.replace(agent);
          await this.#disposed(agent);
          return;
        }
      }
      // A disposal is final: past its deadline the instance is taken out and the agent disposed
      // all the same (reported as an error nothing caught); only a worker that does not even
      // answer then (a hook in a loop) is replaced.
      const event = table.event("disposing", { reason: "dispose" });
      const { slot } = agent;
      const ms = Math.min(this.#p.hookTimeoutMs ?? HOOK_TIMEOUT_MS, DISPOSING_TIMEOUT_MS);
      const outcome = await withinHookDeadline(slot, id, event, slot.rpc.call("stop", [id, event]), ms);
      if ("value" in outcome) return await this.#disposed(agent, outcome.value);
      if (!outcome.answered) await supervisor.replace(agent);
      // Taken out without its state (the hook ended at the deadline): should the delete fail, the
      // agent starts again from its record.
      const state = await this.#stateAfterOverrun(id, outcome);
      await this.#disposed(agent, state);
      this.#p.workerError(`paglets-agent-worker-${slot.index}`, `${outcome.why}; disposed all the same`);
    });
  }

  /**
   * Deletes the stopped agent's record. A delete that cannot be made (a full disk) leaves the agent
   * as it was: back in its worker with the `state` it stopped with (when it stopped cleanly), and
   * the caller gets the error.
   */
  async #disposed(agent: LiveAgent, state?: Uint8Array): Promise<void> {
    const { table, store, events } = this.#p;
    try {
      await store.delete(agent.id);
    } catch (err) {
      if (state) {
        await this.#startAgain(agent, state)
          .catch(() => {/* its worker is gone: the supervisor restores it from the record */});
      }
      throw err;
    }
    table.forget(agent, "dispose");
    table.failQueued(agent, `Agent ${agent.id} was disposed`);
    events.emit("dispose", { agentId: agent.id, type: agent.type });
  }

  /** See AgentRuntime.detach. */
  async detach(
    id: string,
    event: LifecycleEvent,
    fromSelf: boolean,
  ): Promise<{ agent: LiveAgent; state: Uint8Array; queued: ReturnType<Mailbox["drain"]> }> {
    return await this.#transition(id, "detach", fromSelf, async (agent) => {
      const state = await this.#leave(agent, event);
      this.#p.table.forget(agent, "detach");
      return { agent, state, queued: agent.mailbox.drain() };
    });
  }

  /**
   * Stops `agent` in its worker with a departure's hook (`onDeactivating`, `onDispatching`) and
   * returns the state it leaves with. A hook that does not finish within its deadline
   * (hook_deadline.ts) fails the departure with `timeout`, and the agent stays, as when its hook
   * throws: it starts again in its worker with the state it had when it was taken out (without a
   * hook; its run() starts again), or, when the worker does not even answer (a hook in a loop), the
   * worker is replaced and its agents, this one too, come back from their last checkpoint.
   */
  async #leave(agent: LiveAgent, event: LifecycleEvent): Promise<Uint8Array> {
    const { slot, id } = agent;
    const ms = this.#p.hookTimeoutMs ?? HOOK_TIMEOUT_MS;
    const outcome = await withinHookDeadline(slot, id, event, slot.rpc.call("stop", [id, event]), ms);
    if ("value" in outcome) return outcome.value;
    const why = `${outcome.why}; the agent stays`;
    // The worker answered without the state (the hook finished at the deadline, and its instance is
    // gone): the agent comes back from its record. Only a worker that does not answer at all is
    // replaced (its hook loops).
    const state = await this.#stateAfterOverrun(id, outcome);
    const back = state !== undefined && await this.#startAgain(agent, state).then(() => true, () => false);
    if (!back && !slot.ended) await this.#p.supervisor.lost(slot, why, !outcome.answered);
    throw new PagletError("timeout", why);
  }

  /**
   * The state an instance taken out after its hook's deadline leaves with: the worker's answer, or
   * (the hook finished at the deadline, the instance gone) the stored record's; none when the worker
   * did not answer.
   */
  async #stateAfterOverrun(id: string, outcome: { answered: boolean; state?: Uint8Array }) {
    return outcome.state ?? (outcome.answered ? (await this.#p.store.get(id))?.state : undefined);
  }

  /**
   * Starts `agent` again in its worker with `state`, without a hook (its run() starts again): the
   * departure did not happen.
   */
  #startAgain(agent: LiveAgent, state: Uint8Array): Promise<Uint8Array> {
    const code = typeof agent.meta.code === "string" ? agent.meta.code : undefined;
    return agent.slot.rpc.call("start", [{
      id: agent.id,
      type: agent.type,
      code,
      stateBytes: state,
      event: null,
      run: true,
    }]);
  }

  /**
   * Why agent `id` is not live here for a transition; `meanwhile`: it was when the request came,
   * and another request (a move, a deactivation) changed that while this one waited its turn.
   */
  async #notLive(id: string, meanwhile: boolean): Promise<PagletError> {
    const store = this.#p.store;
    const record = await store.get(id);
    if (!record) {
      const movedTo = await store.movedTo(id);
      return new PagletError(
        "agent_not_found",
        `No agent ${id} on this host${
          movedTo ? ` (it moved to ${movedTo.url}${meanwhile ? " during the request" : ""})` : ""
        }`,
        movedTo ? { movedTo: movedTo.url } : undefined,
      );
    }
    // Taken out of this host's table but still recorded active: a departure under way, whose
    // record says `moving` a moment later (also for a request that came after it began).
    if (record.status === "moving" || record.status === "active") return this.#p.table.movingError(id);
    if (meanwhile) {
      return new PagletError(
        "agent_busy",
        `Agent ${id} became ${record.status} by another request while this one waited; try again`,
      );
    }
    return new PagletError("state_conflict", `Agent ${id} is ${record.status}`);
  }

  /** Runs a transition with the mailbox paused; concurrent deliveries wait for its outcome. */
  async #transition<T>(
    id: string,
    kind: TransitionKind,
    fromSelf: boolean,
    fn: (agent: LiveAgent) => Promise<T>,
  ): Promise<T> {
    const { table } = this.#p;
    await table.starting(id)?.catch(() => {});
    let agent = table.live(id);
    if (!agent) throw await this.#notLive(id, false);
    // Its turn comes after the transitions under way; by then another instance may be live under
    // the id (woken again, or restored after a move refused late): the request acts on that one.
    for (;;) {
      while (agent.transition) await agent.transition.catch(() => {});
      const now = table.live(id);
      if (now === agent) break;
      if (!now) throw await this.#notLive(id, true);
      agent = now;
    }
    let done!: () => void;
    agent.transition = new Promise<void>((resolve) => done = resolve);
    agent.transitionKind = kind;
    try {
      if (!fromSelf) {
        await withTimeout(agent.mailbox.pause(), PAUSE_TIMEOUT_MS, `Agent ${id} is busy`).catch((err) => {
          if (err instanceof PagletError && err.code === "timeout") {
            throw new PagletError("agent_busy", err.message);
          }
          throw err;
        });
      } else {
        void agent.mailbox.pause();
      }
      return await fn(agent);
    } catch (err) {
      if (table.live(id) === agent) agent.mailbox.resume();
      throw err;
    } finally {
      agent.transition = null;
      agent.transitionKind = null;
      done();
    }
  }
}

/**
 * The kernel's agent runtime: the table of live agents, their mailboxes and workers, and every
 * lifecycle transition (create, deliver, deactivate, activate, dispose, crash, restore).
 * Durable transitions are written to SQLite before they are acknowledged. The table is private:
 * the rest of the host asks through `find`, `isLive`, `isHere`, `hold`/`settled` and the
 * transitions. The ways in (creation, activation, arrival, restore: arrivals.ts) and out
 * (deactivation, disposal, detach: departures.ts), a message's way from its handler to its reply
 * once its state is stored (handler_commits.ts), checkpoints (checkpointer.ts), stored messages of
 * inactive agents (inactive_queue.ts) and stuck workers (worker_supervisor.ts) are handled in
 * modules of their own; the live agent's record is in live_agent.ts.
 */
import { PagletError } from "../../agents/errors.ts";
import { type Message, toMessage } from "../../agents/message.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import { DEFAULT_POLICY, type PolicyInput, untilStartup } from "../../agents/policy.ts";
import type { HostInfo } from "../../agents/context.ts";
import type { AgentRecord, AgentStore } from "../storage/agent_store.ts";
import type { EventLog } from "./events.ts";
import {
  budgetLeft,
  type Mailbox,
  outcomeOf,
  type ReplyBudget,
  replyBudget,
  StillQueued,
  timeLeft,
  waitedTooLong,
} from "./mailbox.ts";
import { InactiveQueue } from "./inactive_queue.ts";
import { Checkpointer } from "./checkpointer.ts";
import { StateCommits } from "./state_commits.ts";
import { HandlerCommits } from "./handler_commits.ts";
import type { LiveAgent } from "./live_agent.ts";
import { WorkerSupervisor } from "./worker_supervisor.ts";
import { Departures } from "./departures.ts";
import { Arrivals, type CodeSource, type CreateSpec } from "./arrivals.ts";
export type { CreateSpec };
import type { WorkerPool } from "./worker_pool.ts";
import { DeadlineQueue, withTimeout } from "./timeouts.ts";
import { forEachLimited } from "../../agents/limited.ts";
import { type DepartureView, movingError } from "./moving_error.ts";

export interface DeliverOptions {
  oneway?: boolean;
  noDelay?: boolean;
  timeoutMs?: number;
}

function asReply(reply: unknown): DeliverResult {
  return reply instanceof StillQueued ? { queued: true, messageId: reply.messageId } : { reply };
}

/** What a delivery answers: a reply, or the note that the message waits for an inactive agent. */
export type DeliverResult = { reply: unknown } | { queued: true; messageId: string } | { accepted: true };

export interface RuntimeOptions {
  /**
   * How long a dispose waits for a running handler before it asks whether the worker answers at
   * all (one that does not counts as stuck and is replaced). @default 1000
   */
  stuckAfterMs: number;
  /** Travelling code for the starts. Without it, agents of travelling code cannot start here. */
  code?: CodeSource;
  /**
   * How long a start's or a departure's hook may take (onCreation, onActivation, onArrival,
   * onClone, onDeactivating, onDispatching; onDisposing up to 10 s). @default 30000
   */
  hookTimeoutMs?: number;
  /** Records an error nothing caught in a worker. @default a `worker-error` event */
  workerError?: (worker: string, error: string) => void;
}

/** Agents deactivated at once when the host stops. */
const SHUTDOWN_AT_ONCE = 64;

export class AgentRuntime {
  /** Agents running in a worker now; only the runtime adds or removes them. */
  readonly #live = new Map<string, LiveAgent>();
  /** Deliveries and failed deliveries of agents no longer live (see mailboxTotals). */
  #retiredDeliveries = 0;
  #retiredFailures = 0;
  readonly #store: AgentStore;
  readonly #pool: WorkerPool;
  readonly #events: EventLog;
  readonly #host: () => HostInfo;
  readonly #options: RuntimeOptions;
  /**
   * Called when an agent disappears from this host (dispose, deactivate, move), or its instance does
   * (`worker-replaced`: it ended with its worker, and the agent comes back from its stored state). An
   * agent disposed while inactive, whose code does not run, comes with the record it had (`asleep`).
   */
  readonly onGone = new Set<(id: string, why: string, asleep?: AgentRecord) => void>();
  /**
   * The unsettled departure that holds an agent recorded `moving` here, for its views and the answer
   * to a request to it (`expired`: its target no longer knows it, and an operator settles it; such
   * an agent is answered `transfer_expired`, moving_error.ts). Set by the mobility extension, which
   * keeps the transfer ledger; read synchronously.
   */
  departureOf: (id: string) => DepartureView | null = () => null;

  /** What a request to agent `id`, recorded moving here, is answered (moving_error.ts). */
  movingError(id: string): PagletError {
    return movingError(id, this.departureOf(id));
  }
  /**
   * Agents in a handoff owned by another part of the host (a departure awaiting its confirmation,
   * an arrival being started): deliveries, activations and disposals wait for it to settle.
   */
  readonly #settling = new Map<string, Promise<unknown>>();
  /** Reply deadlines of deliveries, on one timer. */
  readonly #deadlines = new DeadlineQueue();
  readonly #queue: InactiveQueue;
  readonly #checkpoints: Checkpointer;
  readonly #commits: StateCommits;
  readonly #handlers: HandlerCommits;
  readonly #supervisor: WorkerSupervisor;
  readonly #departures: Departures;
  readonly #arrivals: Arrivals;

  constructor(
    store: AgentStore,
    pool: WorkerPool,
    events: EventLog,
    host: () => HostInfo,
    options: Partial<RuntimeOptions> = {},
  ) {
    this.#store = store;
    this.#pool = pool;
    this.#events = events;
    this.#host = host;
    this.#options = { stuckAfterMs: 1000, ...options };
    const current = (agent: LiveAgent) => this.#live.get(agent.id) === agent;
    this.#queue = new InactiveQueue(store, events, current);
    this.#commits = new StateCommits(store);
    this.#handlers = new HandlerCommits(pool, this.#commits, store, current);
    this.#checkpoints = new Checkpointer(this.#commits, this.#deadlines, this.#live);
    this.#supervisor = new WorkerSupervisor(
      pool,
      store,
      events,
      this.#deadlines,
      this.#options.stuckAfterMs,
      {
        in: (slot) =>
          [...slot.agents].flatMap((id) => {
            const agent = this.#live.get(id);
            return agent && agent.slot === slot ? [agent] : [];
          }),
        current,
        unregister: (agent) => {
          this.#retire(agent);
          for (const fn of this.onGone) fn(agent.id, "worker-replaced");
        },
        restart: (record) => this.#arrivals.restore(record, "worker-replaced"),
        markCrashed: (id, type, message) => this.#markCrashed(id, type, message),
      },
    );
    pool.onLost = (slot, error, stuck) => void this.#supervisor.lost(slot, error, stuck);
    pool.onRetired = (slot) =>
      events.emit("worker-retired", { data: { worker: slot.index, modules: slot.codes.size } });
    this.#arrivals = new Arrivals({
      table: {
        live: (id) => this.#live.get(id),
        register: (agent) => this.#live.set(agent.id, agent),
        settling: (id) => this.#settling.get(id),
        event: (kind, extra) => this.#event(kind, extra),
        drop: (agent) => this.#drop(agent),
        markCrashed: (id, type, message) => this.#markCrashed(id, type, message),
        movingError: (id) => this.movingError(id),
      },
      store,
      pool,
      events,
      queue: this.#queue,
      handlers: this.#handlers,
      code: this.#options.code,
      hookTimeoutMs: this.#options.hookTimeoutMs,
    });
    this.#departures = new Departures({
      table: {
        live: (id) => this.#live.get(id),
        starting: (id) => this.#arrivals.starting(id),
        movingError: (id) => this.movingError(id),
        settling: (id) => this.#settling.get(id),
        forget: (agent, why) => this.#forget(agent, why),
        failQueued: (agent, why) => this.#failQueued(agent, why),
        event: (kind, extra) => this.#event(kind, extra),
        // With what is left of its reply timeout (the requeue dropped those whose time ran out).
        redeliver: (id, message, delivery) =>
          this.deliver(id, message, { oneway: delivery?.oneway, timeoutMs: timeLeft(delivery) }).then(
            outcomeOf,
          ),
        gone: (id, why, asleep) => {
          this.#arrivals.endRetries(id);
          for (const fn of this.onGone) fn(id, why, asleep);
        },
      },
      store,
      events,
      queue: this.#queue,
      deadlines: this.#deadlines,
      supervisor: this.#supervisor,
      stuckAfterMs: this.#options.stuckAfterMs,
      hookTimeoutMs: this.#options.hookTimeoutMs,
      workerError: this.#options.workerError ??
        ((worker, error) => events.emit("worker-error", { data: { worker, error } })),
    });
  }

  get store(): AgentStore {
    return this.#store;
  }

  /** The agent `id` if it runs on this host now. */
  find(id: string): LiveAgent | undefined {
    return this.#live.get(id);
  }

  /**
   * The agent `id` if its instance is in a worker: live, or being started. Calls a paglet makes
   * from its hooks, or right after them, identify it through this (they may arrive before the
   * start's reply has made it live).
   */
  inWorker(id: string): LiveAgent | undefined {
    return this.#live.get(id) ?? this.#arrivals.launching(id);
  }

  isLive(id: string): boolean {
    return this.#live.has(id);
  }

  /** Whether `id` is this host's to deliver to: running, being started, or stored (any status). */
  isHere(id: string): boolean {
    return this.#live.has(id) || this.#arrivals.starting(id) !== undefined ||
      this.#store.statusOf(id) !== null;
  }

  /** How many agents run on this host now. */
  get liveCount(): number {
    return this.#live.size;
  }

  liveIds(): string[] {
    return [...this.#live.keys()];
  }

  /**
   * Messages in the mailboxes of live agents: `queued` now, and `delivered` since this host started
   * (agents that deactivated, left or were disposed included: it only grows).
   */
  mailboxTotals(): { delivered: number; failed: number; queued: number } {
    let delivered = this.#retiredDeliveries, failed = this.#retiredFailures, queued = 0;
    for (const agent of this.#live.values()) {
      delivered += agent.mailbox.delivered;
      failed += agent.mailbox.failed;
      queued += agent.mailbox.queued;
    }
    return { delivered, failed, queued };
  }

  /** The agent's state may have changed (a context call, a step finished): the next checkpoint saves it. */
  touch(id: string): void {
    const agent = this.#live.get(id);
    if (agent) agent.dirty = true;
  }

  /**
   * Registers `work` as the handoff of `id` owned by another part of the host (a departure awaiting
   * its confirmation, an arrival being started): deliveries, activations and disposals of that
   * agent wait for it to settle. Returns `work` unchanged.
   */
  hold<T>(id: string, work: Promise<T>): Promise<T> {
    const guarded: Promise<unknown> = work.then(() => {}, () => {});
    this.#settling.set(id, guarded);
    void guarded.then(() => {
      if (this.#settling.get(id) === guarded) this.#settling.delete(id);
    });
    return work;
  }

  /** Resolves once no handoff of `id` is under way (at once when none is). */
  async settled(id: string): Promise<void> {
    await this.#settling.get(id);
  }

  /** {@link settled}, within the reply time of `message` (a `timeout` once it is up). */
  settledWithin(id: string, budget: ReplyBudget | null, message: Message): Promise<void> {
    return this.#waitFor(this.settled(id), budget, id, message);
  }

  /**
   * Stores the state agent `id` has now, resolving once it is on disk (Checkpointer.storeNow):
   * before work starts that its state records (a compute step). An agent not running here has no
   * state here to store.
   */
  async storeState(id: string): Promise<void> {
    const agent = this.#live.get(id);
    if (agent) await this.#checkpoints.storeNow(agent);
  }

  /** Whether a handoff of `id` is under way. */
  isHeld(id: string): boolean {
    return this.#settling.has(id);
  }

  /** The current state of a live agent, as CBOR. */
  async snapshot(agent: LiveAgent): Promise<Uint8Array> {
    return await agent.slot.rpc.call("snapshot", [agent.id]);
  }

  #event(kind: LifecycleEvent["kind"], extra: Partial<LifecycleEvent> = {}): LifecycleEvent {
    return { kind, at: Date.now(), hostName: this.#host().name, ...extra };
  }

  /** Creates a paglet; durable before it returns. */
  create(spec: CreateSpec): Promise<AgentRecord> {
    return this.#arrivals.create(spec);
  }

  /** Brings back an agent from its stored record (arrival, activation, restore). */
  start(record: AgentRecord, event: LifecycleEvent | null): Promise<LiveAgent> {
    return this.#arrivals.start(record, event);
  }

  /**
   * Starts an agent that arrived here from its stored record, its code fetched again from `source`
   * (else the mesh) if it left the code store; null when it waits for its code instead (see
   * Arrivals.arrive).
   */
  arrive(record: AgentRecord, event: LifecycleEvent, source?: string): Promise<LiveAgent | null> {
    return this.#arrivals.arrive(record, event, source);
  }

  /** Current record: live agents get a fresh state snapshot. */
  async record(id: string): Promise<AgentRecord | null> {
    const agent = this.#live.get(id);
    const stored = await this.#store.get(id);
    if (!agent) return stored;
    const snap = await withTimeout(agent.slot.rpc.call("snapshot", [id]), 500).catch(() => null);
    const state = snap ?? stored?.state ?? new Uint8Array();
    return {
      id,
      type: agent.type,
      status: "active",
      state,
      policy: null,
      createdAt: agent.createdAt,
      updatedAt: Date.now(),
      meta: agent.meta,
    };
  }

  /** Delivers a message to a local agent, activating or queueing per its policy. */
  deliver(id: string, message: Message, options: DeliverOptions = {}): Promise<DeliverResult> {
    // A running agent with nothing under way takes it at once (no async layer: this is the hot path).
    const live = this.#live.get(id);
    if (live && !live.transition && !this.#settling.has(id)) return this.#post(live, message, options);
    return this.#deliverWhenReady(id, message, options);
  }

  async #deliverWhenReady(id: string, message: Message, options: DeliverOptions): Promise<DeliverResult> {
    // A message's timeout counts from now, the wait behind a move or a deactivation included.
    const budget = replyBudget(options);
    const settling = this.#settling.get(id);
    if (settling) await this.#waitFor(settling, budget, id, message);
    let agent = this.#live.get(id);
    const starting = agent ? undefined : this.#arrivals.starting(id);
    if (starting) agent = await this.#waitFor(starting.catch(() => undefined), budget, id, message);
    while (agent?.transition) {
      // Only waiting for the transition to end: its owner reports how it ended.
      await this.#waitFor(agent.transition.catch(() => {}), budget, id, message);
      agent = this.#live.get(id);
    }
    if (!agent) {
      const record = await this.#arrivals.startable(id);
      if (record.status === "active") {
        // Durable as active but not running: a restore is under way or failed; bring it back now.
        agent = await this.#waitFor(
          this.#arrivals.startOnce(id, () => this.start(record, null)),
          budget,
          id,
          message,
        );
      } else {
        const policy = record.policy ?? DEFAULT_POLICY;
        if (options.noDelay) {
          throw new PagletError(
            "agent_inactive",
            `Agent ${id} is inactive and the message asked for no delay`,
          );
        }
        if (policy.activateOnMessage) {
          agent = await this.#waitFor(this.activate(id, "message"), budget, id, message);
        } else if (policy.queueMessagesWhenInactive) {
          await this.#queue.enqueue(id, message, options.oneway ?? false);
          // Went live meanwhile: its start already read the queue, so hand this one over now.
          const now = this.#live.get(id) ?? await this.#arrivals.starting(id)?.catch(() => undefined);
          if (now) await this.#queue.drain(now);
          return { queued: true, messageId: message.id };
        } else {
          throw new PagletError(
            "agent_inactive",
            `Agent ${id} is inactive and does not take messages while inactive`,
          );
        }
      }
    }
    return await this.#post(
      agent,
      message,
      budget === null ? options : { ...options, timeoutMs: budgetLeft(budget, id, message) },
    );
  }

  /**
   * `waiting`, or a `timeout` once the message's time (`budget`) is up: a message that waits behind
   * a move, a deactivation or a start gets its own timeout in all, and is not delivered after it
   * (what it waited for goes on).
   */
  #waitFor<T>(waiting: Promise<T>, budget: ReplyBudget | null, id: string, message: Message): Promise<T> {
    if (budget === null) return waiting;
    const left = Math.max(0, budget.until - performance.now());
    return this.#deadlines.race(waiting, left, () => waitedTooLong(id, message, budget.ms).message);
  }

  /** Hands the message to the agent's mailbox; resolves with its reply (or accepted, oneway). */
  #post(agent: LiveAgent, message: Message, options: DeliverOptions): Promise<DeliverResult> {
    const delivery = options.oneway || options.timeoutMs
      ? {
        oneway: options.oneway,
        deadline: options.timeoutMs ? performance.now() + options.timeoutMs : undefined,
      }
      : undefined;
    if (options.oneway) {
      agent.mailbox.post(message, delivery).catch((err) =>
        this.#events.emit("message-failed", {
          agentId: agent.id,
          data: { kind: message.kind },
          error: PagletError.from(err).message,
        })
      );
      return Promise.resolve({ accepted: true });
    }
    if (!options.timeoutMs) return agent.mailbox.post(message, delivery).then(asReply);
    return this.#deadlines.within<unknown>(
      options.timeoutMs,
      () => `Agent ${agent.id} did not reply to '${message.kind}'`,
      (resolve, reject) => agent.mailbox.enqueue({ message, delivery, resolve, reject }),
    ).then(asReply);
  }

  /**
   * Deactivates an agent to disk. `fromSelf`: called by the agent's own handler, so the mailbox is
   * not waited for (the handler in progress is the caller).
   */
  deactivate(
    id: string,
    policyInput: PolicyInput = {},
    reason = "deactivate",
    fromSelf = false,
  ): Promise<AgentRecord> {
    return this.#departures.deactivate(id, policyInput, reason, fromSelf);
  }

  /** Activates an inactive agent; messages queued while it was inactive are delivered first, in order. */
  activate(id: string, reason = "activate"): Promise<LiveAgent> {
    return this.#arrivals.activate(id, reason);
  }

  /**
   * Runs a departure a paglet asked for itself (dispose, deactivate). Called from inside one of
   * its handlers, the departure waits for that handler to return and the paglet's call returns at
   * once (waiting would deadlock); otherwise (from run() or a timer) it completes first.
   */
  leaveSelf(id: string, leave: () => Promise<unknown>): Promise<void> {
    return this.#departures.leaveSelf(id, leave);
  }

  /**
   * Disposes an agent (active, inactive or crashed); its record and queued messages are deleted.
   * A handler still running gets `stuckAfterMs` to return; a worker that then does not answer
   * either is terminated (its other agents come back from their last checkpoint). `onDisposing`
   * has 10 s (hook_deadline.ts); past that the agent is disposed all the same.
   */
  dispose(id: string, fromSelf = false): Promise<void> {
    return this.#departures.dispose(id, fromSelf);
  }

  /**
   * Removes a live agent from its worker with `event` as the leaving hook and returns its state
   * (used by dispatch). The caller owns the record afterwards.
   */
  detach(
    id: string,
    event: LifecycleEvent,
    fromSelf = false,
  ): Promise<{ agent: LiveAgent; state: Uint8Array; queued: ReturnType<Mailbox["drain"]> }> {
    return this.#departures.detach(id, event, fromSelf);
  }

  /** Takes a live agent out of the table; its mailbox's deliveries stay in the host's total. */
  #retire(agent: LiveAgent): void {
    if (this.#live.get(agent.id) === agent) {
      this.#retiredDeliveries += agent.mailbox.delivered;
      this.#retiredFailures += agent.mailbox.failed;
    }
    this.#live.delete(agent.id);
  }

  #forget(agent: LiveAgent, why: string): void {
    this.#retire(agent);
    agent.slot.agents.delete(agent.id);
    for (const fn of this.onGone) fn(agent.id, why);
  }

  #failQueued(agent: LiveAgent, why: string): void {
    for (const waiting of agent.mailbox.drain()) waiting.reject(new PagletError("agent_not_found", why));
  }

  async #drop(agent: LiveAgent): Promise<void> {
    // The agent is dropped either way; its record was never written or is being marked.
    await agent.slot.rpc.call("stop", [agent.id, null]).catch(() => {});
    this.#forget(agent, "drop");
  }

  /** run() ended: a failure marks the agent crashed. */
  async runFinished(id: string, error: { code: string; message: string } | null): Promise<void> {
    // run() may end before the start that launched it has registered the agent as live.
    const agent = this.#live.get(id) ?? await this.#arrivals.starting(id)?.catch(() => undefined);
    if (agent) agent.dirty = true;
    if (!error || !agent) return;
    // run() starts before create/activate has written the record: mark it crashed only after.
    await agent.durable.catch(() => {});
    if (this.#live.get(id) !== agent) return;
    // run() failed: the agent is marked crashed below whatever its worker answers.
    await agent.slot.rpc.call("stop", [id, null]).catch(() => {});
    this.#forget(agent, "crash");
    this.#failQueued(agent, `Agent ${id} crashed`);
    await this.#markCrashed(id, agent.type, error.message);
  }

  async #markCrashed(id: string, type: string, message: string): Promise<void> {
    const record = await this.#store.get(id);
    if (record) await this.#store.setStatus(id, "crashed", { ...record.meta, crashError: message });
    this.#events.emit("paglet-crashed", { agentId: id, type, error: message });
  }

  /**
   * Saves the state of agents whose state may have changed (`all`: of every live agent). Runs
   * one at a time: a timer tick while a checkpoint is under way is skipped; `all` waits for it.
   */
  checkpoint(all = false): Promise<number> {
    return this.#checkpoints.run(all);
  }

  /**
   * At host start: every agent that was active (crash) or asks for it comes back. One this host
   * cannot run now waits, inactive, for the next start; one whose travelling code no host it can
   * ask has is also tried again while the host runs (see {@link retryWaitingRestores}).
   */
  restoreAtStartup(): Promise<{ restored: number; failed: number; waiting: number }> {
    return this.#arrivals.restoreAtStartup();
  }

  /**
   * Tries now every restore waiting for its travelling code (a host that may have it is reachable
   * again), and makes due now the failed timed wake-ups whose cause may pass (a few times between two
   * timed tries; resolves once their wake-up times are moved, for the wake-up timer to take); without
   * this, each is tried a minute after it failed, then twice as late each time, up to an hour.
   * `codeUploaded` (a module was uploaded here): every one, whatever early tries it has left.
   */
  retryWaitingRestores(codeUploaded = false): Promise<void> {
    return this.#arrivals.retryWaiting(codeUploaded);
  }

  /**
   * How many agents asleep here have a failed start that the host tries again while it runs: a timed
   * wake-up (`wakes`), a restore waiting for its code (`restores`). Each leaves the count once it
   * starts or is disposed.
   */
  retryingStarts(): { wakes: number; restores: number } {
    return this.#arrivals.retrying();
  }

  /**
   * Ends the tries of restores waiting for their code (the host stops): they wait for the next start.
   * Resolves once the tries under way have ended (an agent one of them started is live by then, and
   * the stop deactivates it with the others).
   */
  stopRestoreRetries(): Promise<void> {
    return this.#arrivals.close();
  }

  /**
   * The timed wake-up of `id` (wakeup_timer.ts), found due at `now`: activated if it still sleeps
   * with that wake-up due. One that fails stays inactive and is tried again a minute later, then
   * twice as late each time, up to an hour (a `wake-failed` event).
   */
  wake(id: string, now = Date.now()): Promise<void> {
    return this.#arrivals.wake(id, now);
  }

  /**
   * Deactivates every live agent for a graceful shutdown, {@link SHUTDOWN_AT_ONCE} at a time: each comes back at the next start, and
   * keeps the policy of its last deactivation, with `activateOnStartup` (see {@link untilStartup}):
   * an agent active when its host stops is active again when the host starts.
   */
  async deactivateAll(
    timeoutMs = 5000,
    onFailure: (id: string, err: unknown) => void = () => {},
  ): Promise<void> {
    const leave = async (id: string) => {
      const own = (await this.#store.get(id))?.lastPolicy ?? null;
      await this.deactivate(id, untilStartup(own), "shutdown");
    };
    // Workers where a deactivation ran out of time: the agents left on one are not waited for
    // again (a worker held by a loop would cost 5 s per group of agents on it).
    const stuck = new Set<LiveAgent["slot"]>();
    // A few at a time, each with its own time: all at once, 20,000 agents queued on the store's
    // lock for longer than their time, and thousands came back from their last checkpoint. An
    // agent that fails to deactivate comes back from its last checkpoint at the next start.
    await forEachLimited([...this.#live.keys()], SHUTDOWN_AT_ONCE, async (id) => {
      const slot = this.#live.get(id)?.slot;
      if (slot && stuck.has(slot)) {
        return onFailure(id, new PagletError("timeout", "its worker did not finish a deactivation in time"));
      }
      await withTimeout(leave(id), timeoutMs).catch(async (err) => {
        // A slow hook of its own, or a worker that answers nothing any more?
        const timedOut = err instanceof PagletError && err.code === "timeout";
        if (slot && timedOut && !stuck.has(slot) && !(await this.#supervisor.answers(slot))) stuck.add(slot);
        onFailure(id, err);
      });
    });
  }

  /** Stops the runtime's timers (host stop; an abort does not wait for a restore's try under way). */
  close(): void {
    void this.#arrivals.close();
    this.#deadlines.close();
  }

  /** Builds a message from an input (validation at the boundary). */
  static message(
    input: { kind: string; args?: Record<string, unknown>; priority?: number },
    sender?: string,
  ): Message {
    try {
      return toMessage(input, sender);
    } catch (err) {
      throw new PagletError("invalid_request", (err as Error).message);
    }
  }
}

/**
 * The kernel's agent runtime: the table of live agents, their mailboxes and workers, and every
 * lifecycle transition (create, deliver, deactivate, activate, dispose, crash, restore).
 * Durable transitions are written to SQLite before they are acknowledged. The table is private:
 * the rest of the host asks through `find`, `isLive`, `isHere`, `hold`/`settled` and the
 * transitions. A message's way from its handler to its reply once its state is stored
 * (handler_commits.ts), checkpoints (checkpointer.ts), stored messages of inactive agents
 * (inactive_queue.ts) and stuck workers (worker_supervisor.ts) are handled in modules of their own;
 * the live agent's record is in live_agent.ts.
 */
import { PagletError } from "../../agents/errors.ts";
import { type Message, toMessage } from "../../agents/message.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import { type DeactivationPolicy, DEFAULT_POLICY } from "../../agents/policy.ts";
import type { HostInfo } from "../../agents/context.ts";
import type { AgentRecord, AgentStore } from "../storage/agent_store.ts";
import type { EventLog } from "./events.ts";
import { Mailbox } from "./mailbox.ts";
import { InactiveQueue } from "./inactive_queue.ts";
import { Checkpointer } from "./checkpointer.ts";
import { StateCommits } from "./state_commits.ts";
import { HandlerCommits } from "./handler_commits.ts";
import { DURABLE, type LiveAgent } from "./live_agent.ts";
import type { QueuedMessage } from "../storage/agent_store.ts";
import { WorkerSupervisor } from "./worker_supervisor.ts";
import { Departures } from "./departures.ts";
import type { WorkerPool } from "./worker_pool.ts";
import { newAgentId } from "./ids.ts";
import { DeadlineQueue, withTimeout } from "./timeouts.ts";

export interface CreateSpec {
  type: string;
  state?: Record<string, unknown>;
  args?: Record<string, unknown>;
  id?: string;
  meta?: Record<string, unknown>;
  /** Hash of the travelling module defining `type` (host/code/); absent for the host's own types. */
  code?: string;
  /** A host to fetch that module from when this host lacks it. */
  codeFrom?: string;
}

export interface DeliverOptions {
  oneway?: boolean;
  noDelay?: boolean;
  timeoutMs?: number;
}

function asReply(reply: unknown): DeliverResult {
  return { reply };
}

/** What a delivery answers: a reply, or the note that the message waits for an inactive agent. */
export type DeliverResult = { reply: unknown } | { queued: true; messageId: string } | { accepted: true };

export interface RuntimeOptions {
  /**
   * How long a dispose waits for a running handler, and then for the worker to give the agent
   * up, before the worker counts as stuck and is replaced. @default 1000
   */
  stuckAfterMs: number;
  /**
   * Makes a travelling module runnable in the workers (fetched from `from` if need be) and returns
   * its types. Without it, agents of travelling code cannot start here.
   */
  code?: (hash: string, from?: string) => Promise<string[]>;
}

export class AgentRuntime {
  /** Agents running in a worker now; only the runtime adds or removes them. */
  readonly #live = new Map<string, LiveAgent>();
  /** Agents whose worker is starting them: their hooks (and their first calls) run before they are live. */
  readonly #launching = new Map<string, LiveAgent>();
  /** Deliveries of agents no longer live (see mailboxTotals). */
  #retiredDeliveries = 0;
  readonly #store: AgentStore;
  readonly #pool: WorkerPool;
  readonly #events: EventLog;
  readonly #host: () => HostInfo;
  readonly #options: RuntimeOptions;
  /** Called when an agent disappears from this host (dispose, deactivate, move). */
  readonly onGone = new Set<(id: string, why: string) => void>();
  /**
   * Agents in a handoff owned by another part of the host (a departure awaiting its confirmation,
   * an arrival being started): deliveries, activations and disposals wait for it to settle.
   */
  readonly #settling = new Map<string, Promise<unknown>>();
  /** Instances being started (activation, restore): one start per agent, the others wait for it. */
  readonly #starting = new Map<string, Promise<LiveAgent>>();
  /** Reply deadlines of deliveries, on one timer. */
  readonly #deadlines = new DeadlineQueue();
  readonly #queue: InactiveQueue;
  readonly #checkpoints: Checkpointer;
  readonly #commits: StateCommits;
  readonly #handlers: HandlerCommits;
  readonly #supervisor: WorkerSupervisor;
  readonly #departures: Departures;

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
    this.#checkpoints = new Checkpointer(this.#commits, this.#deadlines, () => this.#live.values(), current);
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
        unregister: (agent) => this.#retire(agent),
        restart: (record) =>
          this.#startOnce(
            record.id,
            () => this.start(record, this.#event("activation", { reason: "restore" })),
          ),
        markCrashed: (id, type, message) => this.#markCrashed(id, type, message),
      },
    );
    this.#departures = new Departures({
      table: {
        live: (id) => this.#live.get(id),
        starting: (id) => this.#starting.get(id),
        settling: (id) => this.#settling.get(id),
        forget: (agent, why) => this.#forget(agent, why),
        failQueued: (agent, why) => this.#failQueued(agent, why),
        event: (kind, extra) => this.#event(kind, extra),
        redeliver: (id, message, oneway) =>
          this.deliver(id, message, { oneway }).then((r) => "reply" in r ? r.reply : r),
        gone: (id, why) => {
          for (const fn of this.onGone) fn(id, why);
        },
      },
      store,
      events,
      queue: this.#queue,
      deadlines: this.#deadlines,
      supervisor: this.#supervisor,
      stuckAfterMs: this.#options.stuckAfterMs,
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
    return this.#live.get(id) ?? this.#launching.get(id);
  }

  isLive(id: string): boolean {
    return this.#live.has(id);
  }

  /** Whether `id` is this host's to deliver to: running, being started, or stored (any status). */
  isHere(id: string): boolean {
    return this.#live.has(id) || this.#starting.has(id) || this.#store.statusOf(id) !== null;
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
  mailboxTotals(): { delivered: number; queued: number } {
    let delivered = this.#retiredDeliveries, queued = 0;
    for (const agent of this.#live.values()) {
      delivered += agent.mailbox.delivered;
      queued += agent.mailbox.queued;
    }
    return { delivered, queued };
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

  /** Checks that `type` can start here; travelling code (`code`) is loaded first. */
  async #checkType(type: string, code: unknown, codeFrom?: string): Promise<void> {
    if (code === undefined) return await this.#knownType(type);
    if (!this.#options.code) {
      throw new PagletError("remote_code_disabled", `This host cannot load module ${String(code)}`);
    }
    const types = await this.#options.code(String(code), codeFrom);
    if (!types.includes(type)) {
      throw new PagletError(
        "unknown_agent_type",
        `Unknown agent type '${type}' in module ${String(code)}. Its types: ${types.join(", ")}`,
      );
    }
  }

  async #knownType(type: string): Promise<void> {
    const types = await this.#pool.knownTypes();
    if (typeof type !== "string" || !types.includes(type)) {
      throw new PagletError(
        "unknown_agent_type",
        `Unknown agent type '${type}'. Known types: ${types.join(", ")}`,
      );
    }
  }

  /** Starts an instance in a worker and registers it as live. */
  async #launch(
    id: string,
    type: string,
    init: { state?: Record<string, unknown>; stateBytes?: Uint8Array },
    event: LifecycleEvent | null,
    createdAt: number,
    meta: Record<string, unknown>,
    preload: QueuedMessage[] = [],
  ): Promise<{ agent: LiveAgent; state: Uint8Array }> {
    const slot = await this.#pool.pick();
    slot.agents.add(id);
    const agent: LiveAgent = {
      id,
      type,
      slot,
      generation: slot.generation,
      createdAt,
      meta,
      dirty: false,
      transition: null,
      transitionKind: null,
      durable: DURABLE,
      handedSeq: 0,
      epoch: 0,
      lastWrite: null,
      mailbox: new Mailbox((message, delivery) => this.#handlers.handle(agent, message, delivery)),
    };
    this.#launching.set(id, agent);
    try {
      const code = typeof meta.code === "string" ? meta.code : undefined;
      const state = await slot.rpc.call("start", [{ id, type, code, ...init, event, run: event !== null }]);
      // Messages queued while inactive go first, in their order, before anyone else can post; they
      // are handled once the record says active (a state written before that would not land).
      if (preload.length > 0) void agent.mailbox.pause();
      for (const queued of preload) this.#queue.post(agent, queued);
      this.#live.set(id, agent);
      return { agent, state };
    } catch (err) {
      slot.agents.delete(id);
      throw err;
    } finally {
      if (this.#launching.get(id) === agent) this.#launching.delete(id);
    }
  }

  /** Runs `start` unless a start of `id` is under way already; then waits for that one. */
  #startOnce(id: string, start: () => Promise<LiveAgent>): Promise<LiveAgent> {
    const pending = this.#starting.get(id);
    if (pending) return pending;
    const started = start().finally(() => this.#starting.delete(id));
    this.#starting.set(id, started);
    return started;
  }

  /** Creates a paglet; durable before it returns. */
  async create(spec: CreateSpec): Promise<AgentRecord> {
    await this.#checkType(spec.type, spec.code, spec.codeFrom);
    if (
      spec.state !== undefined &&
      (spec.state === null || typeof spec.state !== "object" || Array.isArray(spec.state))
    ) {
      throw new PagletError("invalid_state", "'state' must be an object");
    }
    const id = spec.id ?? newAgentId();
    if (this.#live.has(id) || this.#starting.has(id)) {
      throw new PagletError("state_conflict", `Agent ${id} already exists`);
    }
    // Registered before the first await: a concurrent create with the same id sees it.
    const creating = Promise.withResolvers<LiveAgent>();
    // Whoever waits on it sees the failure; create() itself rethrows it.
    creating.promise.catch(() => {});
    this.#starting.set(id, creating.promise);
    try {
      if (spec.id !== undefined && await this.#store.get(id)) {
        throw new PagletError("state_conflict", `Agent ${id} already exists`);
      }
      const record = await this.#create(id, spec);
      creating.resolve(this.#live.get(id)!);
      return record;
    } catch (err) {
      creating.reject(err);
      throw err;
    } finally {
      this.#starting.delete(id);
    }
  }

  async #create(id: string, spec: CreateSpec): Promise<AgentRecord> {
    const createdAt = Date.now();
    // The record names the code it runs: it wakes with the same module after a restart or a move.
    const meta = spec.code ? { ...spec.meta, code: spec.code } : spec.meta ?? {};
    const { agent, state } = await this.#launch(
      id,
      spec.type,
      { state: spec.state ?? {} },
      this.#event("creation", { args: spec.args ?? {} }),
      createdAt,
      meta,
    );
    const record: AgentRecord = {
      id,
      type: spec.type,
      status: "active",
      state,
      policy: null,
      createdAt,
      updatedAt: createdAt,
      meta,
    };
    agent.durable = this.#store.put(record);
    try {
      await agent.durable;
      // Writes of its handlers go straight to the next group commit from now on.
      agent.durable = DURABLE;
    } catch (err) {
      await this.#drop(agent);
      throw err;
    }
    this.#events.emit("create", { agentId: id, type: spec.type });
    return record;
  }

  /** Brings back an agent from its stored record (arrival, activation, restore). */
  async start(record: AgentRecord, event: LifecycleEvent | null): Promise<LiveAgent> {
    if (record.status === "moving") {
      throw new PagletError("agent_moving", `Agent ${record.id} is moving between hosts; try again shortly`);
    }
    await this.#checkType(record.type, record.meta.code);
    const queued = await this.#queue.stored(record.id);
    const { agent, state } = await this.#launch(
      record.id,
      record.type,
      { stateBytes: record.state },
      event,
      record.createdAt,
      record.meta,
      queued,
    );
    agent.durable = this.#store.put({ ...record, status: "active", state, policy: null });
    try {
      await agent.durable;
      agent.durable = DURABLE;
    } catch (err) {
      // Still stored as it was (inactive, or arriving): it stays that way, nothing ran for it here.
      await this.#drop(agent);
      throw err;
    }
    // The stored messages in the mailbox leave the store as they are handled, each with its effect.
    if (queued.length > 0) agent.mailbox.resume();
    // A message that found the agent inactive just before it went live may have been stored since.
    await this.#queue.drain(agent);
    return agent;
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

  /** The stored record of an agent that is not running; a crashed agent stays down until disposed. */
  async #startableRecord(id: string): Promise<AgentRecord> {
    const record = await this.#store.get(id);
    if (!record) throw new PagletError("agent_not_found", `No agent ${id} on this host`);
    if (record.status === "crashed") {
      throw new PagletError(
        "agent_crashed",
        `Agent ${id} crashed: ${String(record.meta.crashError ?? "unknown error")}`,
      );
    }
    return record;
  }

  /** Delivers a message to a local agent, activating or queueing per its policy. */
  deliver(id: string, message: Message, options: DeliverOptions = {}): Promise<DeliverResult> {
    // A running agent with nothing under way takes it at once (no async layer: this is the hot path).
    const live = this.#live.get(id);
    if (live && !live.transition && !this.#settling.has(id)) return this.#post(live, message, options);
    return this.#deliverWhenReady(id, message, options);
  }

  async #deliverWhenReady(id: string, message: Message, options: DeliverOptions): Promise<DeliverResult> {
    const settling = this.#settling.get(id);
    if (settling) await settling;
    let agent = this.#live.get(id);
    if (!agent) agent = await this.#starting.get(id)?.catch(() => undefined);
    while (agent?.transition) {
      // Only waiting for the transition to end: its owner reports how it ended.
      await agent.transition.catch(() => {});
      agent = this.#live.get(id);
    }
    if (!agent) {
      const record = await this.#startableRecord(id);
      if (record.status === "active") {
        // Durable as active but not running: a restore is under way or failed; bring it back now.
        agent = await this.#startOnce(id, () => this.start(record, null));
      } else {
        const policy = record.policy ?? DEFAULT_POLICY;
        if (options.noDelay) {
          throw new PagletError(
            "agent_inactive",
            `Agent ${id} is inactive and the message asked for no delay`,
          );
        }
        if (policy.activateOnMessage) {
          agent = await this.activate(id, "message");
        } else if (policy.queueMessagesWhenInactive) {
          await this.#queue.enqueue(id, message, options.oneway ?? false);
          // Went live meanwhile: its start already read the queue, so hand this one over now.
          const now = this.#live.get(id) ?? await this.#starting.get(id)?.catch(() => undefined);
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
    return await this.#post(agent, message, options);
  }

  /** Hands the message to the agent's mailbox; resolves with its reply (or accepted, oneway). */
  #post(agent: LiveAgent, message: Message, options: DeliverOptions): Promise<DeliverResult> {
    const delivery = options.oneway || options.timeoutMs
      ? { oneway: options.oneway, deadline: options.timeoutMs ? Date.now() + options.timeoutMs : undefined }
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
    policyInput: Partial<DeactivationPolicy> = {},
    reason = "deactivate",
    fromSelf = false,
  ): Promise<AgentRecord> {
    return this.#departures.deactivate(id, policyInput, reason, fromSelf);
  }

  /** Activates an inactive agent; messages queued while it was inactive are delivered first, in order. */
  async activate(id: string, reason = "activate"): Promise<LiveAgent> {
    await this.#settling.get(id);
    const existing = this.#live.get(id);
    if (existing) return existing;
    return await this.#startOnce(id, async () => {
      const record = await this.#startableRecord(id);
      if (record.status === "active") return await this.start(record, null);
      const agent = await this.start(
        record,
        this.#event("activation", { reason, policy: record.policy ?? undefined }),
      );
      this.#events.emit("activate", { agentId: id, type: record.type, data: { reason } });
      return agent;
    });
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
   * either is terminated (its other agents come back from their last checkpoint).
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
    if (this.#live.get(agent.id) === agent) this.#retiredDeliveries += agent.mailbox.delivered;
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
    const agent = this.#live.get(id) ?? await this.#starting.get(id)?.catch(() => undefined);
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

  /** At host start: every agent that was active (crash) or asks for it comes back. */
  async restoreAtStartup(): Promise<{ restored: number; failed: number }> {
    let restored = 0, failed = 0;
    for (const id of await this.#store.startupAgents()) {
      const record = await this.#store.get(id);
      if (!record) continue;
      try {
        if (record.status === "active") {
          await this.#startOnce(
            id,
            () => this.start(record, this.#event("activation", { reason: "restore" })),
          );
          this.#events.emit("restore", { agentId: id, type: record.type });
        } else {
          await this.activate(id, "startup");
        }
        restored++;
      } catch (err) {
        failed++;
        await this.#markCrashed(id, record.type, `restore failed: ${PagletError.from(err).message}`);
      }
    }
    return { restored, failed };
  }

  /** Activates agents whose wake-up time has come; returns how many. */
  async wakeDue(now = Date.now()): Promise<number> {
    let n = 0;
    for (const id of await this.#store.dueWakeups(now)) {
      try {
        await this.activate(id, "timer");
        n++;
      } catch (err) {
        // Never retry a broken wake-up in a tight loop: it is marked crashed with the reason.
        const record = await this.#store.get(id);
        await this.#markCrashed(
          id,
          record?.type ?? "?",
          `timed activation failed: ${PagletError.from(err).message}`,
        );
      }
    }
    return n;
  }

  /** Deactivates every live agent for a graceful shutdown (they come back at the next start). */
  async deactivateAll(
    timeoutMs = 5000,
    onFailure: (id: string, err: unknown) => void = () => {},
  ): Promise<void> {
    // An agent that fails to deactivate comes back from its last checkpoint at the next start.
    await Promise.all(
      [...this.#live.keys()].map((id) =>
        withTimeout(this.deactivate(id, { activateOnStartup: true }, "shutdown"), timeoutMs).catch((err) =>
          onFailure(id, err)
        )
      ),
    );
  }

  /** Stops the runtime's timers (host stop). */
  close(): void {
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

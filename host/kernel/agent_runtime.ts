/**
 * The kernel's agent runtime: the table of live agents, their mailboxes and workers, and every
 * lifecycle transition (create, deliver, deactivate, activate, dispose, crash, restore).
 * Durable transitions are written to SQLite before they are acknowledged.
 */
import { PagletError } from "../../agents/errors.ts";
import { type Message, toMessage } from "../../agents/message.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import { type DeactivationPolicy, deactivationPolicy, DEFAULT_POLICY } from "../../agents/policy.ts";
import type { HostInfo } from "../../agents/context.ts";
import type { AgentRecord, AgentStore } from "../storage/agent_store.ts";
import type { EventLog } from "./events.ts";
import { Mailbox } from "./mailbox.ts";
import type { WorkerPool, WorkerSlot } from "./worker_pool.ts";
import type { Outcome } from "../worker/protocol.ts";
import { newAgentId } from "./ids.ts";
import { DeadlineQueue, withTimeout } from "./timeouts.ts";

/** An agent running in a worker. */
export interface LiveAgent {
  id: string;
  type: string;
  slot: WorkerSlot;
  generation: number;
  mailbox: Mailbox;
  createdAt: number;
  meta: Record<string, unknown>;
  /** State may have changed since the last checkpoint. */
  dirty: boolean;
  /** A lifecycle transition is under way; new messages wait for its outcome. */
  transition: Promise<void> | null;
  /** Settles once the record that made this instance live is durable (create, activation). */
  durable: Promise<unknown>;
}

export interface CreateSpec {
  type: string;
  state?: Record<string, unknown>;
  args?: Record<string, unknown>;
  id?: string;
  meta?: Record<string, unknown>;
}

export interface DeliverOptions {
  oneway?: boolean;
  noDelay?: boolean;
  timeoutMs?: number;
}

/** What a delivery answers: a reply, or the note that the message waits for an inactive agent. */
export type DeliverResult = { reply: unknown } | { queued: true; messageId: string } | { accepted: true };

export interface RuntimeOptions {
  /**
   * How long a dispose waits for a running handler, and then for the worker to give the agent
   * up, before the worker counts as stuck and is replaced. @default 1000
   */
  stuckAfterMs: number;
}

/** Agents snapshotted per turn of the event loop during a checkpoint. */
const CHECKPOINT_CHUNK = 200;

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw PagletError.fromWire(outcome.error);
}

export class AgentRuntime {
  readonly live = new Map<string, LiveAgent>();
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
  readonly settling = new Map<string, Promise<unknown>>();
  /** Instances being started (activation, restore): one start per agent, the others wait for it. */
  readonly #starting = new Map<string, Promise<LiveAgent>>();
  /** Reply deadlines of deliveries, on one timer. */
  readonly #deadlines = new DeadlineQueue();
  /** The checkpoint under way, if any. */
  #checkpointing: Promise<number> | null = null;
  /** Per agent, the drain of stored messages under way (drains of one agent never overlap). */
  readonly #draining = new Map<string, Promise<void>>();

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
  }

  get store(): AgentStore {
    return this.#store;
  }

  #event(kind: LifecycleEvent["kind"], extra: Partial<LifecycleEvent> = {}): LifecycleEvent {
    return { kind, at: Date.now(), hostName: this.#host().name, ...extra };
  }

  #knownType(type: string): void {
    if (typeof type !== "string" || !this.#pool.types.includes(type)) {
      throw new PagletError(
        "unknown_agent_type",
        `Unknown agent type '${type}'. Known types: ${this.#pool.types.join(", ")}`,
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
    preload: Message[] = [],
  ): Promise<{ agent: LiveAgent; state: Uint8Array }> {
    const slot = this.#pool.pick();
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
      durable: Promise.resolve(),
      mailbox: new Mailbox((message) => this.#handle(agent, message)),
    };
    try {
      const state = unwrap(await slot.api.start({ id, type, ...init, event, run: event !== null }));
      // Messages queued while inactive go first, in their order, before anyone else can post.
      for (const message of preload) this.#postQueued(agent, message);
      this.live.set(id, agent);
      return { agent, state };
    } catch (err) {
      slot.agents.delete(id);
      throw err;
    }
  }

  #handle(agent: LiveAgent, message: Message): Promise<unknown> {
    agent.dirty = true;
    return this.#pool.deliver(agent.slot, agent.id, message);
  }

  #postQueued(agent: LiveAgent, message: Message): void {
    agent.mailbox.post(message).then(
      () =>
        this.#events.emit("message-delivered", {
          agentId: agent.id,
          data: { kind: message.kind, queued: true },
        }),
      (err) =>
        this.#events.emit("message-failed", {
          agentId: agent.id,
          data: { kind: message.kind, queued: true },
          error: PagletError.from(err).message,
        }),
    );
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
    this.#knownType(spec.type);
    if (
      spec.state !== undefined &&
      (spec.state === null || typeof spec.state !== "object" || Array.isArray(spec.state))
    ) {
      throw new PagletError("invalid_state", "'state' must be an object");
    }
    const id = spec.id ?? newAgentId();
    if (this.live.has(id) || this.#starting.has(id)) {
      throw new PagletError("state_conflict", `Agent ${id} already exists`);
    }
    // Registered before the first await: a concurrent create with the same id sees it.
    const creating = Promise.withResolvers<LiveAgent>();
    creating.promise.catch(() => {});
    this.#starting.set(id, creating.promise);
    try {
      if (spec.id !== undefined && await this.#store.get(id)) {
        throw new PagletError("state_conflict", `Agent ${id} already exists`);
      }
      const record = await this.#create(id, spec);
      creating.resolve(this.live.get(id)!);
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
    const meta = spec.meta ?? {};
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
    this.#knownType(record.type);
    const queued = await this.#store.queued(record.id);
    const { agent, state } = await this.#launch(
      record.id,
      record.type,
      { stateBytes: record.state },
      event,
      record.createdAt,
      record.meta,
      queued.map((q) => q.message),
    );
    agent.durable = this.#store.put({ ...record, status: "active", state, policy: null });
    await agent.durable;
    // Handed to the mailbox above: a crash from here on replays them at the next start.
    if (queued.length > 0) await this.#store.dequeueThrough(record.id, queued[queued.length - 1].seq);
    // A message that found the agent inactive just before it went live may have been stored since.
    await this.#drainQueue(agent);
    return agent;
  }

  /** Moves messages stored for `agent` into its mailbox, in their order. */
  #drainQueue(agent: LiveAgent): Promise<void> {
    const previous = this.#draining.get(agent.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.live.get(agent.id) !== agent) return;
      const queued = await this.#store.queued(agent.id);
      if (queued.length === 0 || this.live.get(agent.id) !== agent) return;
      for (const q of queued) this.#postQueued(agent, q.message);
      await this.#store.dequeueThrough(agent.id, queued[queued.length - 1].seq);
    }).finally(() => {
      if (this.#draining.get(agent.id) === next) this.#draining.delete(agent.id);
    });
    this.#draining.set(agent.id, next);
    return next;
  }

  /** Current record: live agents get a fresh state snapshot. */
  async record(id: string): Promise<AgentRecord | null> {
    const agent = this.live.get(id);
    const stored = await this.#store.get(id);
    if (!agent) return stored;
    const snap = await withTimeout<Outcome<Uint8Array>>(agent.slot.api.snapshot(id), 500).catch(() => null);
    const state = snap && snap.ok ? snap.value : stored?.state ?? new Uint8Array();
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
  async deliver(id: string, message: Message, options: DeliverOptions = {}): Promise<DeliverResult> {
    await this.settling.get(id);
    let agent = this.live.get(id) ?? await this.#starting.get(id)?.catch(() => undefined);
    while (agent?.transition) {
      await agent.transition.catch(() => {});
      agent = this.live.get(id);
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
          await this.#store.enqueue(id, message, options.oneway ?? false);
          // Went live meanwhile: its start already read the queue, so hand this one over now.
          const now = this.live.get(id) ?? await this.#starting.get(id)?.catch(() => undefined);
          if (now) await this.#drainQueue(now);
          this.#events.emit("message-queued", {
            agentId: id,
            data: { kind: message.kind, messageId: message.id },
          });
          return { queued: true, messageId: message.id };
        } else {
          throw new PagletError(
            "agent_inactive",
            `Agent ${id} is inactive and does not take messages while inactive`,
          );
        }
      }
    }
    const pending = agent.mailbox.post(message);
    if (options.oneway) {
      pending.catch((err) =>
        this.#events.emit("message-failed", {
          agentId: id,
          data: { kind: message.kind },
          error: PagletError.from(err).message,
        })
      );
      return { accepted: true };
    }
    const reply = options.timeoutMs
      ? await this.#deadlines.race(
        pending,
        options.timeoutMs,
        `Agent ${id} did not reply to '${message.kind}'`,
      )
      : await pending;
    return { reply };
  }

  /**
   * Deactivates an agent to disk. `fromSelf`: called by the agent's own handler, so the mailbox is
   * not waited for (the handler in progress is the caller).
   */
  async deactivate(
    id: string,
    policyInput: Partial<DeactivationPolicy> = {},
    reason = "deactivate",
    fromSelf = false,
  ): Promise<AgentRecord> {
    let policy: DeactivationPolicy;
    try {
      policy = deactivationPolicy(policyInput);
    } catch (err) {
      throw new PagletError("invalid_request", (err as Error).message);
    }
    return await this.#transition(id, fromSelf, async (agent) => {
      const state = unwrap(await agent.slot.api.stop(id, this.#event("deactivating", { reason, policy })));
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
      await this.#store.put(record);
      this.#forget(agent, "deactivate");
      await this.#requeue(agent, policy);
      this.#events.emit("deactivate", {
        agentId: id,
        type: agent.type,
        data: { reason, activateAt: policy.activateAt },
      });
      return record;
    });
  }

  /** Activates an inactive agent; messages queued while it was inactive are delivered first, in order. */
  async activate(id: string, reason = "activate"): Promise<LiveAgent> {
    await this.settling.get(id);
    const existing = this.live.get(id);
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
  async leaveSelf(id: string, leave: () => Promise<unknown>): Promise<void> {
    const agent = this.live.get(id);
    if (!agent) throw new PagletError("agent_not_found", `Agent ${id} is not active on this host`);
    if (!agent.mailbox.busy) {
      await leave();
      return;
    }
    leave().catch((err) =>
      this.#events.emit("leave-failed", {
        agentId: id,
        type: agent.type,
        error: PagletError.from(err).message,
      })
    );
  }

  /**
   * Disposes an agent (active, inactive or crashed); its record and queued messages are deleted.
   * A handler still running gets `stuckAfterMs` to return; a worker that then does not answer
   * either is terminated (its other agents come back from their last checkpoint).
   */
  async dispose(id: string, fromSelf = false): Promise<void> {
    if (!fromSelf) await this.settling.get(id);
    await this.#starting.get(id)?.catch(() => {});
    if (!this.live.has(id)) {
      const record = await this.#store.get(id);
      if (!record) throw new PagletError("agent_not_found", `No agent ${id} on this host`);
      await this.#store.delete(id);
      this.#events.emit("dispose", { agentId: id, type: record.type });
      for (const fn of this.onGone) fn(id, "dispose");
      return;
    }
    try {
      await this.#disposeLive(id, fromSelf);
    } catch (err) {
      // It went inactive (or moved) while we waited for its turn: dispose what is stored now.
      if (!(err instanceof PagletError && err.code === "state_conflict") || this.live.has(id)) throw err;
      const status = (await this.#store.get(id))?.status;
      if (status !== "inactive" && status !== "crashed") throw err;
      await this.dispose(id, fromSelf);
    }
  }

  async #disposeLive(id: string, fromSelf: boolean): Promise<void> {
    await this.#transition(id, true, async (agent) => {
      if (!fromSelf && agent.mailbox.busy) {
        const idle = await this.#deadlines.race(agent.mailbox.pause(), this.#options.stuckAfterMs).then(
          () => true,
          () => false,
        );
        if (!idle && !(await this.#answers(agent.slot))) {
          await this.#replaceStuckWorker(agent);
          await this.#disposed(agent);
          return;
        }
      }
      try {
        unwrap(
          await this.#deadlines.race<Outcome<Uint8Array>>(
            agent.slot.api.stop(id, this.#event("disposing", { reason: "dispose" })),
            this.#options.stuckAfterMs,
          ),
        );
      } catch (err) {
        if (!(err instanceof PagletError && err.code === "timeout")) throw err;
        await this.#replaceStuckWorker(agent);
      }
      await this.#disposed(agent);
    });
  }

  async #disposed(agent: LiveAgent): Promise<void> {
    await this.#store.delete(agent.id);
    this.#forget(agent, "dispose");
    this.#failQueued(agent, `Agent ${agent.id} was disposed`);
    this.#events.emit("dispose", { agentId: agent.id, type: agent.type });
  }

  /** Does the worker in `slot` answer a ping soon (or is its thread stuck in agent code)? */
  async #answers(slot: WorkerSlot): Promise<boolean> {
    return await this.#deadlines.race(slot.api.ping(), Math.max(50, this.#options.stuckAfterMs / 4)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Removes a live agent from its worker with `event` as the leaving hook and returns its state
   * (used by dispatch). The caller owns the record afterwards.
   */
  async detach(
    id: string,
    event: LifecycleEvent,
    fromSelf = false,
  ): Promise<{ agent: LiveAgent; state: Uint8Array; queued: ReturnType<Mailbox["drain"]> }> {
    return await this.#transition(id, fromSelf, async (agent) => {
      const state = unwrap(await agent.slot.api.stop(id, event));
      this.#forget(agent, "detach");
      return { agent, state, queued: agent.mailbox.drain() };
    });
  }

  /** Runs a transition with the mailbox paused; concurrent deliveries wait for its outcome. */
  async #transition<T>(id: string, fromSelf: boolean, fn: (agent: LiveAgent) => Promise<T>): Promise<T> {
    await this.#starting.get(id)?.catch(() => {});
    const agent = this.live.get(id);
    if (!agent) {
      const record = await this.#store.get(id);
      if (record) {
        const code = record.status === "moving" ? "agent_moving" : "state_conflict";
        throw new PagletError(code, `Agent ${id} is ${record.status}`);
      }
      throw new PagletError("agent_not_found", `No agent ${id} on this host`);
    }
    while (agent.transition) await agent.transition.catch(() => {});
    if (this.live.get(id) !== agent) {
      throw new PagletError("state_conflict", `Agent ${id} left during the request`);
    }
    let done!: () => void;
    agent.transition = new Promise<void>((resolve) => done = resolve);
    try {
      if (!fromSelf) {
        await withTimeout(agent.mailbox.pause(), 30_000, `Agent ${id} is busy`).catch((err) => {
          if (err instanceof PagletError && err.code === "timeout") {
            throw new PagletError("agent_busy", err.message);
          }
          throw err;
        });
      } else {
        void agent.mailbox.pause();
      }
      const result = await fn(agent);
      return result;
    } catch (err) {
      if (this.live.get(id) === agent) agent.mailbox.resume();
      throw err;
    } finally {
      agent.transition = null;
      done();
    }
  }

  #forget(agent: LiveAgent, why: string): void {
    this.live.delete(agent.id);
    agent.slot.agents.delete(agent.id);
    for (const fn of this.onGone) fn(agent.id, why);
  }

  /**
   * Messages that were waiting in the mailbox of an agent that went inactive: per its policy they
   * activate it again, are stored in their order, or fail with `agent_inactive`.
   */
  async #requeue(agent: LiveAgent, policy: DeactivationPolicy): Promise<void> {
    for (const waiting of agent.mailbox.drain()) {
      if (policy.activateOnMessage) {
        this.deliver(agent.id, waiting.message).then(
          (r) => waiting.resolve("reply" in r ? r.reply : r),
          waiting.reject,
        );
      } else if (policy.queueMessagesWhenInactive) {
        try {
          await this.#store.enqueue(agent.id, waiting.message, false);
          waiting.resolve({ queued: true, messageId: waiting.message.id });
        } catch (err) {
          waiting.reject(err);
        }
      } else {
        waiting.reject(
          new PagletError("agent_inactive", `Agent ${agent.id} went inactive before handling the message`),
        );
      }
    }
  }

  #failQueued(agent: LiveAgent, why: string): void {
    for (const waiting of agent.mailbox.drain()) waiting.reject(new PagletError("agent_not_found", why));
  }

  async #drop(agent: LiveAgent): Promise<void> {
    await agent.slot.api.stop(agent.id, null).catch(() => {});
    this.#forget(agent, "drop");
  }

  /**
   * Terminates a worker that does not give up an agent, and restores its other agents from their
   * last checkpoint. Deliveries to them wait for the restore; calls that were under way in the
   * old worker fail with `worker_lost`.
   */
  async #replaceStuckWorker(stuck: LiveAgent): Promise<void> {
    const others: LiveAgent[] = [];
    for (const id of stuck.slot.agents) {
      const agent = this.live.get(id);
      if (id !== stuck.id && agent && agent.slot === stuck.slot) others.push(agent);
    }
    const restoring = Promise.withResolvers<void>();
    for (const agent of others) {
      agent.transition ??= restoring.promise;
      void agent.mailbox.pause();
    }
    try {
      const lost = await this.#pool.replace(stuck.slot);
      this.#events.emit("worker-replaced", {
        agentId: stuck.id,
        data: { worker: stuck.slot.index, agents: lost.length },
      });
      for (const agent of others) {
        if (this.live.get(agent.id) !== agent) continue;
        this.live.delete(agent.id);
        const waiting = agent.mailbox.drain();
        const record = await this.#store.get(agent.id);
        if (!record) {
          for (const w of waiting) w.reject(new PagletError("agent_not_found", `Agent ${agent.id} is gone`));
          continue;
        }
        try {
          // As after a host crash: back from the last checkpoint, onActivation(restore), run().
          const restored = await this.#startOnce(
            agent.id,
            () => this.start(record, this.#event("activation", { reason: "restore" })),
          );
          for (const w of waiting) restored.mailbox.post(w.message).then(w.resolve, w.reject);
          this.#events.emit("restore", {
            agentId: agent.id,
            type: record.type,
            data: { reason: "worker-replaced" },
          });
        } catch (err) {
          for (const w of waiting) w.reject(err);
          await this.#markCrashed(agent.id, record.type, PagletError.from(err).message);
        }
      }
    } finally {
      for (const agent of others) if (agent.transition === restoring.promise) agent.transition = null;
      restoring.resolve();
    }
  }

  /** run() ended: a failure marks the agent crashed. */
  async runFinished(id: string, error: { code: string; message: string } | null): Promise<void> {
    // run() may end before the start that launched it has registered the agent as live.
    const agent = this.live.get(id) ?? await this.#starting.get(id)?.catch(() => undefined);
    if (agent) agent.dirty = true;
    if (!error || !agent) return;
    // run() starts before create/activate has written the record: mark it crashed only after.
    await agent.durable.catch(() => {});
    if (this.live.get(id) !== agent) return;
    await agent.slot.api.stop(id, null).catch(() => {});
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
  async checkpoint(all = false): Promise<number> {
    if (this.#checkpointing) {
      if (!all) return 0;
      await this.#checkpointing.catch(() => {});
    }
    const run = this.#checkpointOnce(all);
    this.#checkpointing = run;
    try {
      return await run;
    } finally {
      if (this.#checkpointing === run) this.#checkpointing = null;
    }
  }

  async #checkpointOnce(all: boolean): Promise<number> {
    const agents = [...this.live.values()].filter((a) => all || a.dirty);
    let saved = 0;
    // In chunks, with a turn of the event loop between them: thousands of snapshot requests
    // and replies at once would hold up the kernel thread (measured: 120 ms for 5,000 agents).
    for (let i = 0; i < agents.length; i += CHECKPOINT_CHUNK) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      const states: { id: string; state: Uint8Array }[] = [];
      await Promise.all(
        agents.slice(i, i + CHECKPOINT_CHUNK).map(async (agent) => {
          agent.dirty = false;
          const snap = await this.#deadlines.race<Outcome<Uint8Array>>(
            agent.slot.api.snapshot(agent.id),
            1000,
          )
            .catch(() => null);
          if (snap?.ok && this.live.get(agent.id) === agent) states.push({ id: agent.id, state: snap.value });
          else if (!snap) agent.dirty = true; // busy worker: try again next time
        }),
      );
      await this.#store.saveStates(states);
      saved += states.length;
    }
    return saved;
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
  async deactivateAll(timeoutMs = 5000): Promise<void> {
    await Promise.all(
      [...this.live.keys()].map((id) =>
        withTimeout(this.deactivate(id, { activateOnStartup: true }, "shutdown"), timeoutMs).catch(() => {})
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

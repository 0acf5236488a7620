/**
 * The ways an agent comes to life in a worker: its creation, a start from its stored record (an
 * arrival, an activation, a restore), and the host's start-up sweeps (agents that were active or
 * ask for it, timed wake-ups). One start per agent at a time: another start of the same agent waits
 * for the one under way. Every start is durable before it answers: the record says active only
 * once the instance runs, and an instance whose record could not be written is dropped. A restore
 * whose travelling code no host it can ask has now waits, and is tried again while the host runs
 * (restore_waits.ts); so does an arrival whose code left the store before it started. The runtime
 * (agent_runtime.ts) owns the table of live agents and hands this module what it needs of it
 * ({@link ArrivalTable}).
 */
import { PagletError } from "../../agents/errors.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import type { AgentRecord, AgentStore, QueuedMessage } from "../storage/agent_store.ts";
import type { EventLog } from "./events.ts";
import type { HandlerCommits } from "./handler_commits.ts";
import type { InactiveQueue } from "./inactive_queue.ts";
import { DURABLE, type LiveAgent } from "./live_agent.ts";
import { Mailbox } from "./mailbox.ts";
import { newAgentId } from "./ids.ts";
import { stoppedByShutdown, type WorkerPool, type WorkerSlot } from "./worker_pool.ts";
import { HOOK_TIMEOUT_MS, withinHookDeadline } from "./hook_deadline.ts";
import { forEachLimited } from "../../agents/limited.ts";
import { untilStartup } from "../../agents/policy.ts";
import { RestoreWaits } from "./restore_waits.ts";
import { FailedWakes } from "./failed_wakes.ts";
import { startOf, waitedArrival } from "./waited_arrivals.ts";

/** How many paglets the start-up brings back at once. */
const STARTS_AT_ONCE = 16;
/**
 * Why a paglet cannot start on this host now that is no fault of the paglet: its type or its code
 * is missing here (a start without its `--module`, travelling code this host cannot get now).
 */
const NOT_RUNNABLE_HERE = new Set([
  "unknown_agent_type",
  "code_not_found",
  "code_unavailable",
  "remote_code_disabled",
  "module_load_failed",
  "host_unreachable",
]);

/** Whether `record` is asleep with a wake-up its policy says is due at `now`. */
function dueAsleep(record: AgentRecord | null, now: number): boolean {
  const at = record?.status === "inactive" ? record.policy?.activateAt : null;
  return at !== null && at !== undefined && at <= now;
}

/** `err` when it says this host cannot run a paglet now ({@link NOT_RUNNABLE_HERE}), else null. */
function notRunnableHere(err: unknown): PagletError | null {
  const why = PagletError.from(err);
  return NOT_RUNNABLE_HERE.has(why.code) ? why : null;
}

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

/** Travelling code as starts need it (host/code/code_loader.ts). */
export interface CodeSource {
  /**
   * Makes module `hash` runnable in the workers (fetched from `from` if need be, else from the mesh,
   * `alsoAsk` first among its hosts); returns its types.
   */
  ensure(hash: string, from?: string, alsoAsk?: string): Promise<string[]>;
  /**
   * Makes sure the code store holds module `hash`: fetched again from `from`, else from the mesh,
   * if it left the store; `code_unavailable` when no host serves it.
   */
  restock(hash: string, from?: string): Promise<void>;
}

/** What the arrivals need of the runtime's table of agents. */
export interface ArrivalTable {
  /** The live instance of `id`. */
  live(id: string): LiveAgent | undefined;
  /** Makes a started instance the live one of its id. */
  register(agent: LiveAgent): void;
  /** A handoff of `id` owned by another part of the host (see AgentRuntime.hold). */
  settling(id: string): Promise<unknown> | undefined;
  /** A lifecycle event for a hook, stamped with this host. */
  event(kind: LifecycleEvent["kind"], extra?: Partial<LifecycleEvent>): LifecycleEvent;
  /** Takes an instance whose record could not be written out of its worker and the table. */
  drop(agent: LiveAgent): Promise<void>;
  /** Marks a stored agent crashed with `message` (it stays down until disposed). */
  markCrashed(id: string, type: string, message: string): Promise<void>;
  /** The error for a request to `id`, recorded moving here (moving_error.ts). */
  movingError(id: string): PagletError;
}

/** Why a type a user wrote may be missing. */
const TYPE_HINT =
  "A module's paglet class is found by its `static type`, and only when the module exports it; " +
  "a type from a script is created with its module's hash (`code`; `agents create --code`)";

export interface ArrivalParts {
  table: ArrivalTable;
  store: AgentStore;
  pool: WorkerPool;
  events: EventLog;
  queue: InactiveQueue;
  handlers: HandlerCommits;
  /** Without it, agents of travelling code cannot start here. */
  code?: CodeSource;
  /** How long a start's hook (onCreation, onActivation, onArrival, onClone) may take. @default 30000 (hook_deadline.ts) */
  hookTimeoutMs?: number;
}

export class Arrivals {
  readonly #p: ArrivalParts;
  /** Agents whose worker is starting them: their hooks (and their first calls) run before they are live. */
  readonly #launching = new Map<string, LiveAgent>();
  /** Instances being started (creation, activation, restore): one start per agent, the others wait for it. */
  readonly #starting = new Map<string, Promise<LiveAgent>>();
  /** Timed wake-ups that failed in a row (since this host started). */
  readonly #failedWakes = new FailedWakes();
  /** Restores waiting for their travelling code, tried again while the host runs. */
  readonly #waits = new RestoreWaits(async (id) => void await this.#bringBack(id));

  constructor(parts: ArrivalParts) {
    this.#p = parts;
  }

  /**
   * A host that may have the code of a waiting restore is reachable: every one with early tries left
   * is tried now, and so is every failed timed wake-up whose cause may pass that has early tries left
   * (failed_wakes.ts): its wake-up time is moved to now, for the wake-up timer to take (resolves once
   * moved). `codeUploaded`: a module was uploaded here, and every one is tried, spending no early try.
   */
  async retryWaiting(codeUploaded = false): Promise<void> {
    this.#waits.retryAll(codeUploaded);
    const { store } = this.#p;
    for (const id of this.#failedWakes.takeEarly(codeUploaded)) {
      // Only a wake-up still due and asleep: one woken, put to sleep again or gone by another way
      // since it failed is forgotten (made due, it would be due for ever with nothing to wake).
      if (dueAsleep(await store.get(id), Date.now())) await store.postponeWakeup(id, Date.now());
      else this.#failedWakes.forget(id);
    }
  }

  /**
   * Agent `id` started, or is gone from this host (disposed asleep): its failed timed wake-up and its
   * restore waiting for code, if any, are over.
   */
  endRetries(id: string): void {
    this.#failedWakes.forget(id);
    this.#waits.forget(id);
  }

  /** How many failed starts are tried again while the host runs: timed wake-ups, waiting restores. */
  retrying(): { wakes: number; restores: number } {
    return { wakes: this.#failedWakes.size, restores: this.#waits.size };
  }

  /**
   * Ends the tries of waiting restores (the host stops): they wait for the next start. Resolves once
   * the tries under way have ended.
   */
  close(): Promise<void> {
    return this.#waits.close();
  }

  /** The instance of `id` its worker is starting now (its hooks run), if any. */
  launching(id: string): LiveAgent | undefined {
    return this.#launching.get(id);
  }

  /** The start of `id` under way, if any. */
  starting(id: string): Promise<LiveAgent> | undefined {
    return this.#starting.get(id);
  }

  /** See AgentRuntime.create. */
  async create(spec: CreateSpec): Promise<AgentRecord> {
    const { table, store } = this.#p;
    await this.#checkType(spec.type, spec.code, spec.codeFrom);
    if (
      spec.state !== undefined &&
      (spec.state === null || typeof spec.state !== "object" || Array.isArray(spec.state))
    ) {
      throw new PagletError("invalid_state", "'state' must be an object");
    }
    const id = spec.id ?? newAgentId();
    if (table.live(id) || this.#starting.has(id)) {
      throw new PagletError("state_conflict", `Agent ${id} already exists`);
    }
    // Registered before the first await: a concurrent create with the same id sees it.
    const creating = Promise.withResolvers<LiveAgent>();
    // Whoever waits on it sees the failure; create() itself rethrows it.
    creating.promise.catch(() => {});
    this.#starting.set(id, creating.promise);
    try {
      if (spec.id !== undefined && await store.get(id)) {
        throw new PagletError("state_conflict", `Agent ${id} already exists`);
      }
      const record = await this.#create(id, spec);
      creating.resolve(table.live(id)!);
      return record;
    } catch (err) {
      creating.reject(err);
      throw err;
    } finally {
      this.#starting.delete(id);
    }
  }

  async #create(id: string, spec: CreateSpec): Promise<AgentRecord> {
    const { table, events } = this.#p;
    const createdAt = Date.now();
    // The record names the code it runs: it wakes with the same module after a restart or a move.
    const meta = spec.code ? { ...spec.meta, code: spec.code } : spec.meta ?? {};
    const { agent, state } = await this.#launch(
      id,
      spec.type,
      { state: spec.state ?? {} },
      table.event("creation", { args: spec.args ?? {} }),
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
    await this.#madeDurable(agent, record);
    events.emit("create", { agentId: id, type: spec.type });
    return record;
  }

  /**
   * See AgentRuntime.start. An arrival that waited to start (waited_arrivals.ts) is activated with
   * the reason its record keeps, whatever brought it back.
   */
  async start(record: AgentRecord, startEvent: LifecycleEvent | null): Promise<LiveAgent> {
    const { queue } = this.#p;
    if (record.status === "moving") {
      throw this.#p.table.movingError(record.id);
    }
    await this.#checkType(record.type, record.meta.code);
    const queued = await queue.stored(record.id);
    const { meta, event } = startOf(record.meta, startEvent);
    const { agent, state } = await this.#launch(
      record.id,
      record.type,
      { stateBytes: record.state },
      event,
      record.createdAt,
      meta,
      queued,
    );
    await this.#madeDurable(agent, { ...record, status: "active", state, policy: null, meta });
    this.endRetries(record.id);
    // The stored messages in the mailbox leave the store as they are handled, each with its effect.
    if (queued.length > 0) agent.mailbox.resume();
    // A message that found the agent inactive just before it went live may have been stored since.
    await queue.drain(agent);
    return agent;
  }

  /**
   * Starts an agent that arrived here (a dispatch or a clone: `event` is its onArrival or onClone)
   * from its stored record. Its module, checked as it arrived, may have left the code store since
   * (deleted, or damaged and set aside): it is fetched again from `source`, the host it came from,
   * else from the mesh. One this host cannot run now is not crashed but waits as a restore does
   * ({@link #park}), to come back with `onActivation` (reason `arrival-waited`, or `clone-waited`
   * for a copy: waited_arrivals.ts); the answer is then null.
   */
  async arrive(record: AgentRecord, event: LifecycleEvent, source?: string): Promise<LiveAgent | null> {
    const code = record.meta.code;
    const missing = await (async () => {
      if (typeof code === "string" && this.#p.code) await this.#p.code.restock(code, source);
      await this.#checkType(record.type, code);
    })().then(() => null, notRunnableHere);
    if (missing) {
      await this.#park({ ...record, meta: waitedArrival(record.meta, event) }, missing, source);
      return null;
    }
    return await this.start(record, event);
  }

  /**
   * Writes the record that makes a started instance live; its handlers' writes wait for it, then go
   * straight to the next group commit. An instance whose record could not be written is dropped (a
   * start's agent stays stored as it was: inactive, or arriving; nothing ran for it here).
   */
  async #madeDurable(agent: LiveAgent, record: AgentRecord): Promise<void> {
    agent.durable = this.#p.store.put(record);
    try {
      await agent.durable;
      agent.durable = DURABLE;
    } catch (err) {
      await this.#p.table.drop(agent);
      throw err;
    }
  }

  /** Runs `start` unless a start of `id` is under way already; then waits for that one. */
  startOnce(id: string, start: () => Promise<LiveAgent>): Promise<LiveAgent> {
    const pending = this.#starting.get(id);
    if (pending) return pending;
    const started = start().finally(() => this.#starting.delete(id));
    this.#starting.set(id, started);
    return started;
  }

  /** See AgentRuntime.activate. */
  async activate(id: string, reason: string): Promise<LiveAgent> {
    const { table, events } = this.#p;
    await table.settling(id);
    const existing = table.live(id);
    if (existing) return existing;
    return await this.startOnce(id, async () => {
      const record = await this.startable(id);
      if (record.status === "active") return await this.start(record, null);
      const agent = await this.start(
        record,
        table.event("activation", { reason, policy: record.policy ?? undefined }),
      );
      events.emit("activate", { agentId: id, type: record.type, data: { reason } });
      return agent;
    });
  }

  /**
   * The stored record of an agent that is not running; a crashed agent stays down until disposed,
   * and a moving one (a departure its target has not confirmed) until the handoff is settled: its
   * record keeps the policy of its last deactivation, but a message queued for it would leave the
   * store with the record once the target confirms.
   */
  async startable(id: string): Promise<AgentRecord> {
    const record = await this.#p.store.get(id);
    if (!record) throw new PagletError("agent_not_found", `No agent ${id} on this host`);
    if (record.status === "moving") {
      throw this.#p.table.movingError(id);
    }
    if (record.status === "crashed") {
      throw new PagletError(
        "agent_crashed",
        `Agent ${id} crashed: ${String(record.meta.crashError ?? "unknown error")}`,
      );
    }
    return record;
  }

  /**
   * Starts the agent of a stored record that says active (a restore: no hook but onActivation's, with
   * `reason`: `restore` after a host stop or crash, `worker-replaced` after its worker was).
   */
  restore(record: AgentRecord, reason: "restore" | "worker-replaced" = "restore"): Promise<LiveAgent> {
    return this.startOnce(
      record.id,
      () => this.start(record, this.#p.table.event("activation", { reason })),
    );
  }

  /**
   * See AgentRuntime.restoreAtStartup. {@link STARTS_AT_ONCE} at a time: a paglet whose hook is slow
   * holds up no other.
   */
  async restoreAtStartup(): Promise<{ restored: number; failed: number; waiting: number }> {
    const counts = { restored: 0, failed: 0, waiting: 0 };
    let stopping = false;
    await forEachLimited(await this.#p.store.startupAgents(), STARTS_AT_ONCE, async (id) => {
      if (stopping) return;
      const outcome = await this.#bringBack(id);
      if (outcome === "stopping") stopping = true; // the rest start at the next start
      else if (outcome !== "skipped") counts[outcome]++;
    });
    return counts;
  }

  /**
   * Brings back an agent whose record says active, or inactive with `activateOnStartup`: at the
   * start, or later for one whose restore waits for its code. One this host cannot run now (its
   * type or code is missing here) is not crashed but waits, inactive, for the next start; one whose
   * travelling code no host it asked had (`code_unavailable`) is also tried again while the host
   * runs (restore_waits.ts), and a `restore` event says when it is back.
   */
  async #bringBack(id: string): Promise<"restored" | "failed" | "waiting" | "stopping" | "skipped"> {
    const { table, store, events } = this.#p;
    // Started already by what recovered before this (an arrival the host had stored but not
    // started when it stopped: one start, with its own hook), or since by a message.
    if (table.live(id) || this.#starting.has(id)) return "skipped";
    const record = await store.get(id);
    const asleep = record?.status === "inactive" && record.policy?.activateOnStartup === true;
    // Disposed, moved, crashed or put to sleep otherwise meanwhile.
    if (!record || (record.status !== "active" && !asleep)) return "skipped";
    // Whether this host can run it at all, asked before any of its code runs: an error that its
    // own hooks raise, whatever its code, crashes it below. A waiting arrival's code is asked of
    // its source too (it may be outside the mesh).
    const missing = await this.#checkType(record.type, record.meta.code, undefined, this.#waits.sourceOf(id))
      .then(() => null, notRunnableHere);
    if (missing) {
      await this.#park(record, missing);
      return "waiting";
    }
    const waited = this.#waits.failures(id);
    try {
      if (record.status === "active") {
        await this.restore(record);
        events.emit("restore", { agentId: id, type: record.type });
      } else if (waited !== undefined) {
        await this.activate(id, "restore");
        events.emit("restore", { agentId: id, type: record.type, data: { failures: waited } });
      } else {
        await this.activate(id, "startup");
      }
      return "restored";
    } catch (err) {
      if (stoppedByShutdown(err)) return "stopping";
      await table.markCrashed(id, record.type, `restore failed: ${PagletError.from(err).message}`);
      return "failed";
    }
  }

  /**
   * Leaves an agent this host cannot run now (`missing` says why) asleep, with a `restore-waiting`
   * event: an active one sleeps as a graceful stop would have left it (`activateOnStartup`), an
   * inactive one stays so, and the next start brings it back. One whose travelling code no host it
   * asked had is also tried again while the host runs, asking `source` too (an arrival's: the host
   * it came from) each time.
   */
  async #park(record: AgentRecord, missing: PagletError, source?: string): Promise<void> {
    if (record.status === "active") {
      await this.#p.store.put({ ...record, status: "inactive", policy: untilStartup(record.lastPolicy) });
    }
    const next = missing.code === "code_unavailable" ? this.#waits.wait(record.id, source) : undefined;
    this.#p.events.emit("restore-waiting", {
      agentId: record.id,
      type: record.type,
      error: missing.message,
      ...(next ? { data: { ...next } } : {}),
    });
  }

  /** See AgentRuntime.wake. */
  async wake(id: string, now: number): Promise<void> {
    const { table, store, events } = this.#p;
    await table.settling(id);
    // Started or leaving by another way meanwhile: that outcome is this wake-up's (returning at once
    // would find it due again at once, for as long as that start lasts).
    const starting = this.#starting.get(id);
    if (starting) return void await starting.catch(() => {});
    const live = table.live(id);
    if (live) return void await live.transition?.catch(() => {});
    const record = await store.get(id);
    if (!record || !dueAsleep(record, now)) {
      // Disposed, moved, woken or put to sleep again since it was found due: a wake-up time left
      // that its policy no longer asks for goes back to the policy's, else it would be found due
      // again at once, for ever.
      this.#failedWakes.forget(id);
      if (record?.status === "inactive") await store.settleWakeup(id, record.policy?.activateAt ?? null, now);
      return;
    }
    try {
      // A start ends the run of failures (endRetries).
      await this.activate(id, "timer");
    } catch (err) {
      if (stoppedByShutdown(err)) return; // still due: woken at the next start
      if (store.statusOf(id) !== "inactive") return this.#failedWakes.forget(id); // gone, moved or woken
      // It stays asleep, as after a message that could not wake it, and is tried again later (or
      // early, when a host comes back that may mend why it failed).
      const { failures, retryAt, early } = this.#failedWakes.failed(id, err);
      await store.postponeWakeup(id, retryAt);
      events.emit("wake-failed", {
        agentId: id,
        type: record.type,
        error: PagletError.from(err).message,
        data: { retryAt, failures, early },
      });
    }
  }

  /** Checks that `type` can start here; travelling code (`code`) is loaded first. */
  async #checkType(type: string, code: unknown, codeFrom?: string, alsoAsk?: string): Promise<void> {
    if (code === undefined) return await this.#knownType(type);
    if (!this.#p.code) {
      throw new PagletError("remote_code_disabled", `This host cannot load module ${String(code)}`);
    }
    const types = await this.#p.code.ensure(String(code), codeFrom, alsoAsk);
    if (!types.includes(type)) {
      throw new PagletError(
        "unknown_agent_type",
        `Unknown agent type '${type}' in module ${String(code)}. Its types: ${
          types.join(", ") || "none"
        }. ${TYPE_HINT}`,
      );
    }
  }

  async #knownType(type: string): Promise<void> {
    const types = await this.#p.pool.knownTypes();
    if (typeof type !== "string" || !types.includes(type)) {
      throw new PagletError(
        "unknown_agent_type",
        `Unknown agent type '${type}'. Known types: ${types.join(", ")}. ${TYPE_HINT}`,
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
    const { table, pool, queue, handlers } = this.#p;
    const slot = await pool.pick();
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
      storedInFlight: 0,
      checkpointDurable: false,
      epoch: 0,
      lastWrite: null,
      mailbox: new Mailbox((message, delivery) => handlers.handle(agent, message, delivery)),
    };
    this.#launching.set(id, agent);
    try {
      const code = typeof meta.code === "string" ? meta.code : undefined;
      if (code !== undefined) await pool.codeIn(slot, code);
      const state = await this.#started(
        slot,
        id,
        event,
        slot.rpc.call("start", [{ id, type, code, ...init, event, run: event !== null }]),
      );
      // Messages queued while inactive go first, in their order, before anyone else can post; they
      // are handled once the record says active (a state written before that would not land).
      if (preload.length > 0) void agent.mailbox.pause();
      for (const queued of preload) queue.post(agent, queued);
      table.register(agent);
      return { agent, state };
    } catch (err) {
      slot.agents.delete(id);
      throw err;
    } finally {
      if (this.#launching.get(id) === agent) this.#launching.delete(id);
    }
  }

  /**
   * The state a start answered with, within the hook's deadline (hook_deadline.ts). Past it the
   * start fails with `timeout`, as a hook that threw fails it: the instance is out of its worker,
   * and a worker that does not even answer that (a hook in a loop) is replaced, its other agents
   * restored.
   */
  async #started(
    slot: WorkerSlot,
    id: string,
    event: LifecycleEvent | null,
    start: Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const outcome = await withinHookDeadline(
      slot,
      id,
      event,
      start,
      this.#p.hookTimeoutMs ?? HOOK_TIMEOUT_MS,
    );
    if ("value" in outcome) return outcome.value;
    if (!outcome.answered && !slot.ended) this.#p.pool.onLost?.(slot, outcome.why, true);
    throw new PagletError("timeout", outcome.why);
  }
}

/** The pool of agent workers. Each active paglet lives in exactly one worker. */
import { cancel, every, orAfter, type Timer } from "../../agents/timers.ts";
import { millisecondsFromEnv } from "../env_ms.ts";
import { PagletError } from "../../agents/errors.ts";
import type { Message } from "../../agents/message.ts";
import type { KernelOps, OpHandlers, StateChange, WorkerConfig, WorkerOps } from "../worker/protocol.ts";
import { PortRpc } from "../worker/port_rpc.ts";
import { abandonThread } from "../compute/thread_priority.ts";
import { outOfDescriptorsError, requireDescriptors, WORKER_DESCRIPTORS } from "../descriptors.ts";
import {
  AGENT_WORKER_URL,
  hasEarlyWorker,
  preloadModules,
  takeEarlyWorker,
} from "../worker/early_workers.ts";

/** One worker and the agents living in it. */
/** How long a worker may take to load modules or code, unless the host says otherwise. */
export const MODULE_LOAD_TIMEOUT_MS = 20_000;

/**
 * Whether `err` is the pool's refusal to start a paglet because the host is stopping: not the
 * paglet's failure. Its record stays as it is (active, or inactive with its policy), and the next
 * start of the host brings it back as it would any other.
 */
export function stoppedByShutdown(err: unknown): boolean {
  return err instanceof PagletError && err.code === "draining";
}

export interface WorkerSlot {
  readonly index: number;
  /** Every call into the worker (protocol.ts); pending calls fail with `worker_lost` when it ends. */
  readonly rpc: PortRpc<KernelOps, WorkerOps>;
  readonly agents: Set<string>;
  readonly worker: Worker;
  /** Generation: bumps when a stuck worker is replaced in this slot. */
  readonly generation: number;
  /** Hashes of the travelling code this worker was given (see #join). */
  readonly codes: Set<string>;
  /** The worker's OS thread id, where known (idled if it is ever left looping: see replace). */
  readonly tid: number | null;
  /** Loads under way in it that no agent of it waits for (loadCode, loadModule): it is not idle. */
  busy: number;
  /** When an agent was last placed in it or code loaded into it (ms): its idle time counts from then. */
  lastUsed: number;
  /**
   * The worker was terminated (replaced, or the pool closed): set before its pending calls fail, so
   * that whoever sees such a failure knows the call's effect, if any, died with the worker.
   */
  ended: boolean;
}

export class WorkerPool {
  readonly #slots: WorkerSlot[] = [];
  /** Settles once the host knows what the workers need (its URL is known only once it listens). */
  readonly #config: Promise<WorkerConfig>;
  readonly #kernel: OpHandlers<KernelOps>;
  /** Module URLs a new worker starts importing at once, before its config arrives. */
  readonly #preload: readonly string[];
  /**
   * Travelling code the pool has taken (hash → how to get its data: URL again, from the host's code
   * store: the pool keeps no module's text). A worker loads a module when the first agent of it
   * starts there ({@link codeIn}), not before: a worker holds only the versions its agents run (or
   * ran), and one module whose top level fails in a new worker fails the starts of its own agents
   * there, nothing else.
   */
  readonly #codes = new Map<string, () => Promise<string>>();
  /** Per worker: modules being read from the store for it (codeIn), by hash. */
  readonly #reading = new WeakMap<WorkerSlot, Map<string, Promise<string[]>>>();
  #types: string[] = [];
  #abandoned = 0;
  /** Workers the pool may grow to (see pick). */
  #max = 1;
  /** A worker being added (see pick), shared by the starts that wait for it. */
  #growing: Promise<WorkerSlot> | null = null;
  /** The second worker, started beside the first (see #startAhead); joins the pool once loaded. */
  #ahead: Promise<WorkerSlot> | null = null;
  /** Workers whose start is under way: a close ends them too. */
  readonly #starting = new Set<{ rpc: PortRpc<KernelOps, WorkerOps>; worker: Worker }>();
  #closed = false;
  /**
   * How long a worker may take to load modules or code: past it, a top-level loop or an await that
   * never settles fails the load with `module_load_failed` instead of holding it for ever.
   */
  readonly #loadTimeoutMs: number;
  /**
   * Called when a started worker ends on an error that escaped it, or is found looping in code it
   * loads (`stuck`): its agents are gone from it, and whoever owns them restores them in a
   * replacement (worker_supervisor.ts).
   */
  onLost: ((slot: WorkerSlot, error: string, stuck: boolean) => void) | null = null;
  /** Called when an idle worker was ended (see {@link #retireIdle}). */
  onRetired: ((slot: WorkerSlot) => void) | null = null;
  /**
   * A worker without agents that has loaded travelling code is ended once it stayed so this long
   * (`PAGLETS_WORKER_IDLE_MS`, default 60 s): V8 frees no module a worker loaded, and a host that
   * runs one edited script after another would hold every version it ever ran. The pool starts a
   * worker again when agents need one, and it loads the modules of the agents it takes.
   */
  readonly #idleMs = millisecondsFromEnv("PAGLETS_WORKER_IDLE_MS", 60_000);
  #idleTimer: Timer | undefined;

  constructor(
    config: WorkerConfig | Promise<WorkerConfig>,
    kernel: OpHandlers<KernelOps>,
    preload: readonly string[] = [],
    loadTimeoutMs = MODULE_LOAD_TIMEOUT_MS,
  ) {
    this.#preload = preload;
    this.#loadTimeoutMs = loadTimeoutMs;
    this.#config = Promise.resolve(config);
    // Awaited by every worker start, which reports the failure.
    this.#config.catch(() => {});
    this.#kernel = kernel;
  }

  /**
   * Sets the pool's size: it starts no worker now and grows to `size` workers as agents need them
   * (see pick), so an idle host holds no worker's memory and its start does not wait for one. A
   * worker started early for this process (host/worker/early_workers.ts: a command that runs its
   * own agents at once) starts loading now as the first.
   */
  start(size: number): void {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Worker pool size must be a positive integer: current value is ${size}`);
    }
    this.#max = size;
    if (hasEarlyWorker()) void this.#grow().catch(() => {/* reported to the first that needs it */});
    cancel(this.#idleTimer);
    this.#idleTimer = every(Math.max(250, this.#idleMs / 4), () => this.#retireIdle(), { ref: false });
  }

  /**
   * Ends the workers that hold travelling code and had no agent placed in them, no agent left in
   * them and no load under way for {@link #idleMs}.
   */
  #retireIdle(): void {
    const now = Date.now();
    for (const slot of [...this.#slots]) {
      if (slot.agents.size > 0) slot.lastUsed = now;
      // A worker ended already is being replaced (replace), whose new worker takes its place.
      if (slot.ended || slot.busy > 0 || slot.codes.size === 0 || now - slot.lastUsed < this.#idleMs) {
        continue;
      }
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      this.#discard(slot);
      this.onRetired?.(slot);
    }
  }

  /**
   * The first worker, started when something first needs one (an agent, the paglet types, a
   * module): later callers share its start. A start that fails is reported to each caller (a type
   * module that cannot load: `module_not_found` or `module_load_failed`) and tried again by the next.
   */
  async #first(): Promise<WorkerSlot> {
    if (this.#slots[0]) return this.#slots[0];
    const first = this.#grow();
    this.#startAhead(first);
    return await first;
  }

  /**
   * Starts the second worker beside the first when the pool may hold more than one. The first
   * agent of a host is seldom its last (a job's coordinator creates the agents of the job next),
   * and the agent that needs the second worker would otherwise wait for a whole worker start after
   * the first one's (its thread, then its modules: ~100 ms on 2 vCPUs). Started now, its modules
   * load while the first worker's do. It joins the pool once loaded and once the first has joined;
   * if the first fails, it is dropped too (the next start tries both again).
   */
  #startAhead(first: Promise<WorkerSlot>): void {
    if (this.#max < 2 || this.#ahead) return;
    const spawning = this.#spawn(1, 0);
    // Its failure is handled once the first has settled; until then it must not count as unhandled.
    spawning.catch(() => {});
    const ahead = first.then(
      () => this.#join(spawning),
      (err) => {
        spawning.then((slot) => this.#discard(slot), () => {});
        throw err;
      },
    );
    this.#ahead = ahead;
    ahead.catch(() => {
      if (this.#ahead === ahead) this.#ahead = null;
    });
  }

  /** The lowest worker number no worker of the pool has (an idle one retired leaves a gap). */
  #freeIndex(): number {
    let index = 0;
    while (this.#slots.some((slot) => slot.index === index)) index++;
    return index;
  }

  /** Adds a worker (the one started ahead, if any); the starts that need one meanwhile share it. */
  #grow(): Promise<WorkerSlot> {
    if (!this.#growing) {
      const ahead = this.#slots.length === 1 ? this.#ahead : null;
      this.#ahead = null;
      this.#growing = (ahead ?? this.#join(this.#spawn(this.#freeIndex(), 0))).finally(() =>
        this.#growing = null
      );
    }
    return this.#growing;
  }

  /** Adds a started worker to the pool (after a close: terminates it instead). */
  async #join(spawning: Promise<WorkerSlot>): Promise<WorkerSlot> {
    const slot = await spawning;
    if (this.#closed) {
      this.#discard(slot);
      throw new PagletError("draining", "The host is shutting down");
    }
    this.#slots.push(slot);
    return slot;
  }

  /**
   * Loads code `hash` into the worker of `slot`. A start sent meanwhile waits there for the load
   * (agent_worker.ts); a load that fails is forgotten, so that the next start that needs the code
   * in that worker loads it again first ({@link codeIn}) and reports its failure.
   */
  #give(slot: WorkerSlot, hash: string, url: string): Promise<string[]> {
    slot.codes.add(hash);
    return slot.rpc.call("loadCode", [hash, url]).catch((err) => {
      slot.codes.delete(hash);
      throw err;
    });
  }

  /**
   * Makes sure the worker of `slot` has (or is loading) the pool's travelling code `hash` before an
   * agent of it starts there: the first start of an agent of that code in that worker loads it,
   * within the load's deadline, and a load's failure is the start's.
   */
  async codeIn(slot: WorkerSlot, hash: string): Promise<void> {
    const urlOf = this.#codes.get(hash);
    if (urlOf === undefined || slot.codes.has(hash)) return;
    // One read of the module per worker, however many of its agents start at once.
    const reads = this.#reading.get(slot) ?? new Map<string, Promise<string[]>>();
    this.#reading.set(slot, reads);
    let load = reads.get(hash);
    if (!load) {
      load = urlOf().then((url) => this.#give(slot, hash, url)).finally(() => reads.delete(hash));
      reads.set(hash, load);
    }
    await this.#loading(load, `Code ${hash}`);
  }

  #discard(slot: WorkerSlot): void {
    slot.ended = true;
    slot.rpc.close(new PagletError("draining", "The worker was not needed"));
    slot.worker.terminate();
  }

  /** The paglet types the workers know (the first worker starts if none runs yet). */
  async knownTypes(): Promise<string[]> {
    await this.#first();
    return this.#types;
  }

  async #spawn(index: number, generation: number): Promise<WorkerSlot> {
    if (this.#closed) throw new PagletError("draining", "The host is shutting down");
    const early = generation === 0 ? takeEarlyWorker() : undefined;
    let worker = early?.worker;
    if (!worker) {
      requireDescriptors(WORKER_DESCRIPTORS, "start a worker");
      worker = new Worker(AGENT_WORKER_URL, { type: "module", name: `paglets-agent-worker-${index}` });
      preloadModules(worker, this.#preload);
    }
    const channel = new MessageChannel();
    const rpc = new PortRpc<KernelOps, WorkerOps>(channel.port1, this.#kernel);
    // An error that escapes the worker ends it (the worker catches its paglets' own: agent_worker.ts).
    // Left to Deno, it would end the host too. While starting, the start fails with it; later, the
    // worker is replaced like a stuck one (onLost).
    let started: WorkerSlot | null = null;
    const ended = (message: string) => {
      if (started) {
        if (!started.ended) this.onLost?.(started, message, false);
      } else {
        rpc.close(startFailure(message));
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      ended(event.message);
    };
    if (early?.failure) ended(early.failure);
    // The worker's one plain message: its end of the channel; everything else goes over the port.
    worker.postMessage({ port: channel.port2 }, [channel.port2]);
    const starting = { rpc, worker };
    this.#starting.add(starting);
    try {
      const config = await this.#config;
      let modules = config.modules.length;
      this.#types = await this.#loading(rpc.call("init", [config]), "A new worker's modules");
      // Then the modules added to the host's since it started; travelling code comes with the
      // agents that need it (codeIn).
      while (modules < config.modules.length) {
        const module = config.modules[modules++];
        await this.#loading(rpc.call("loadModule", [module]), `Module ${module}`);
      }
    } catch (err) {
      // A load past its time whose worker does not answer either loops: its thread runs on.
      if (err instanceof PagletError && err.code === "module_load_failed" && !(await this.#answers(rpc))) {
        this.#abandon();
      }
      rpc.close();
      worker.terminate();
      if (err instanceof PagletError && STARTS_ENDED.has(err.code)) throw err;
      throw moduleError(err, (await this.#config.catch(() => null))?.modules ?? []);
    } finally {
      this.#starting.delete(starting);
    }
    // Asked once it serves: a worker left looping later can no longer answer it.
    const tid = await rpc.call("thread", []).catch(() => null);
    started = {
      index,
      rpc,
      agents: new Set(),
      worker,
      generation,
      codes: new Set(),
      tid,
      ended: false,
      busy: 0,
      lastUsed: Date.now(),
    };
    return started;
  }

  /** Delivers a message to an agent in `slot` over the hot-path port; resolves with the reply and the state change. */
  deliver(slot: WorkerSlot, agentId: string, message: Message): Promise<[unknown, StateChange]> {
    return slot.rpc.call("deliver", [agentId, message]);
  }

  get slots(): readonly WorkerSlot[] {
    return this.#slots;
  }

  /**
   * The worker the next agent goes to: one without agents; else a new one while the pool is below
   * its size (the start waits for it, as it would for a worker started with the host); else the
   * one with the fewest agents. So agents spread over the workers as with all of them started at
   * once, and a busy or stuck agent never has a newcomer queued behind it while the pool may grow.
   */
  async pick(): Promise<WorkerSlot> {
    await this.#first();
    for (let tries = 0;; tries++) {
      const best = this.#leastLoaded();
      best.lastUsed = Date.now();
      if (best.agents.size === 0 || this.#slots.length >= this.#max || tries >= this.#max) return best;
      try {
        await this.#grow();
      } catch {
        // A worker that cannot start: the agent goes where there is room (one still in the pool).
        return this.#slots.includes(best) ? best : await this.#first();
      }
    }
  }

  #leastLoaded(): WorkerSlot {
    let best = this.#slots[0];
    for (const slot of this.#slots) if (slot.agents.size < best.agents.size) best = slot;
    return best;
  }

  /**
   * `load` within the load timeout; past it, `module_load_failed` naming `what`. A worker left
   * looping in the load is the caller's to end (see loadCode).
   */
  async #loading<T>(load: Promise<T>, what: string): Promise<T> {
    const done = await orAfter(load.then((value) => ({ value })), this.#loadTimeoutMs, null);
    if (done) return done.value;
    load.catch(() => {}); // settles, if ever, with nobody waiting
    throw new PagletError(
      "module_load_failed",
      `${what} did not finish loading within ${this.#loadTimeoutMs / 1000} s: a top-level loop, or a ` +
        `top-level await that never settles?`,
    );
  }

  /** Loads a module into every worker (paglets defined by a user script). */
  async loadModule(url: string): Promise<string[]> {
    await this.#first();
    (await this.#config).modules.push(url);
    let names: string[] = [];
    const slots = [...this.#slots];
    for (const slot of slots) slot.busy++;
    try {
      for (const slot of slots) {
        names = await this.#loading(slot.rpc.call("loadModule", [url]), `Module ${url}`);
      }
    } finally {
      for (const slot of slots) slot.busy--;
    }
    this.#types = [...new Set([...this.#types, ...names])].sort();
    return names;
  }

  /**
   * Takes travelling code into the pool: loads it (`url`) into the worker with the fewest agents
   * (where the next agent goes) and returns the paglet types it defines. Other workers load it when
   * an agent of it starts there ({@link codeIn}), from the URL `urlOf` makes then.
   */
  async loadCode(hash: string, url: string, urlOf: () => Promise<string>): Promise<string[]> {
    await this.#first();
    const first = this.#leastLoaded();
    let types: string[];
    first.busy++;
    try {
      types = await this.#loading(first.rpc.call("loadCode", [hash, url]), `Code ${hash}`);
      first.lastUsed = Date.now();
    } catch (err) {
      // A worker that no longer answers is looping in the code's top level: replaced, its agents
      // restored elsewhere (worker_supervisor.ts), so that it holds nobody up.
      if (!first.ended && !(await this.#answers(first.rpc))) {
        this.onLost?.(first, PagletError.from(err).message, true);
      }
      throw err;
    } finally {
      first.busy--;
    }
    this.#codes.set(hash, urlOf);
    first.codes.add(hash);
    return types;
  }

  /**
   * Forgets travelling code the host no longer keeps (host/code/code_sweep.ts): a worker that
   * loaded it keeps it, any other would have to be given it again (CodeLoader.ensure).
   */
  forgetCode(hash: string): void {
    this.#codes.delete(hash);
  }

  /** Whether the worker answers a ping within a second (else it is stuck in a loop). */
  async #answers(rpc: PortRpc<KernelOps, WorkerOps>): Promise<boolean> {
    return await orAfter(rpc.call("ping", []).then(() => true, () => false), 1000, false);
  }

  /**
   * Terminates a stuck worker (or one that ended: `stuck` false) and starts a fresh one in its
   * slot. Returns the ids of the agents that lived in it (the caller restores or disposes them).
   */
  async replace(slot: WorkerSlot, stuck = true): Promise<string[]> {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return [];
    const lost = [...slot.agents];
    slot.ended = true;
    slot.rpc.close(new PagletError("worker_lost", `Worker ${slot.index} was terminated`));
    // Deno 2.9 does not interrupt a worker stuck in a JS loop on terminate() (denoland/deno#35657):
    // the thread runs on until its loop ends. Nothing reaches it any more; it is counted so
    // operators see the CPU it may still hold, and the host command exits explicitly.
    slot.worker.terminate();
    if (stuck) this.#abandon(slot.tid);
    let fresh: WorkerSlot;
    try {
      fresh = await this.#spawn(slot.index, slot.generation + 1);
    } catch (err) {
      // No worker in its place: the slot leaves the pool, which grows again when agents need it.
      const at = this.#slots.indexOf(slot);
      if (at >= 0) this.#slots.splice(at, 1);
      throw err;
    }
    if (this.#closed) {
      this.#discard(fresh);
      throw new PagletError("draining", "The host is shutting down");
    }
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots[at] = fresh;
    else this.#slots.push(fresh);
    return lost;
  }

  /**
   * A worker ended while it loops: its thread runs on (host/stray_threads.ts), in Linux's SCHED_IDLE
   * class when its id is known, so that it takes only CPU time nothing else wants.
   */
  #abandon(tid: number | null = null): void {
    this.#abandoned++;
    abandonThread(tid);
  }

  /** Workers replaced because they were stuck; their threads may still be busy (see replace). */
  get abandoned(): number {
    return this.#abandoned;
  }

  close(): void {
    this.#closed = true;
    cancel(this.#idleTimer);
    for (const slot of this.#slots) slot.ended = true;
    for (const slot of [...this.#slots, ...this.#starting]) {
      slot.rpc.close(new PagletError("draining", "The host is shutting down"));
      slot.worker.terminate();
    }
    this.#slots.length = 0;
  }
}

/** The codes of {@link startFailure}: a worker that ended while starting, not a module of the user's. */
const STARTS_ENDED = new Set(["too_many_connections", "worker_lost"]);

/** A worker that ended while starting: `too_many_connections` when it found no descriptor to load with. */
function startFailure(message: string): PagletError {
  const err = outOfDescriptorsError(new Error(message));
  return err instanceof PagletError
    ? err
    : new PagletError("worker_lost", `A worker ended while starting: ${message}`);
}

/** A worker that could not load a type module: `module_not_found` or `module_load_failed`, naming it. */
function moduleError(err: unknown, modules: readonly string[]): unknown {
  const message = err instanceof Error ? err.message : String(err);
  const missing = /Module not found "([^"]+)"/.exec(message);
  if (missing) {
    return new PagletError("module_not_found", `Module ${missing[1]} was not found (check --module)`);
  }
  // Named by the worker already (agent_worker.ts init).
  if (err instanceof PagletError && err.code === "module_load_failed") return err;
  const named = modules.find((m) => message.includes(m));
  if (named) return new PagletError("module_load_failed", `Module ${named} failed to load: ${message}`);
  return err;
}

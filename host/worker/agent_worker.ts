/// <reference lib="deno.worker" />
/**
 * Agent worker: runs paglet instances for the kernel. Handlers of one paglet are serialised by
 * the kernel's mailbox; different paglets in this worker interleave at their awaits.
 */
import { PagletError, scriptFrame } from "../../agents/errors.ts";
import type { Message } from "../../agents/message.ts";
import { type LifecycleEvent, Paglet, type PagletClass, STATE_CHANGED } from "../../agents/paglet.ts";
import { TypeRegistry } from "../../agents/type_registry.ts";
import { findNonPlainData } from "../../agents/wire.ts";
import { decodeCbor, encodeCbor } from "../../agents/cbor.ts";
import type { HostInfo } from "../../agents/context.ts";
import type { KernelOps, OpHandlers, StartSpec, StateChange, WorkerConfig, WorkerOps } from "./protocol.ts";
import { StateChanges } from "./state_changes.ts";
import { createWorkerContext } from "./worker_context.ts";
import { PortRpc } from "./port_rpc.ts";
import { immediate } from "../immediate.ts";
import { describeError } from "../descriptors.ts";
import { refuseWorkerExit } from "./exit_guard.ts";
// Travelling code (data: URLs) reads the SDK from globalThis: installed before any is imported.
import "../../agents/sdk_global.ts";

// The kernel may first name the modules init will load (early_workers.ts preloadModules): start
// importing them now, while the host opens its database. The message listener below never sees it.
self.addEventListener("message", (event: MessageEvent) => {
  const preload = (event.data as { preload?: unknown } | null)?.preload;
  if (!Array.isArray(preload)) return;
  event.stopImmediatePropagation();
  for (const url of preload) import(String(url)).catch(() => {/* init reports a failing module */});
}, { once: true });

/**
 * An error nothing caught: a paglet's timer callback that throws, a promise nobody awaits. Left to
 * Deno, it would end this worker and then the host with every paglet in it; it is reported to the
 * kernel instead (event `worker-error`), and the worker and its paglets run on.
 */
function reportUncaught(event: Event, error: unknown): void {
  event.preventDefault();
  const text = describeError(error);
  if (kernel) kernel.notify("uncaught", [self.name, text]);
  else console.error(`paglets: uncaught error in ${self.name}: ${text}`);
}
self.addEventListener("error", (event) => reportUncaught(event, event.error ?? event.message));
self.addEventListener("unhandledrejection", (event) => reportUncaught(event, event.reason));

refuseWorkerExit("a paglet ends itself with this.context.dispose()");

const registry = new TypeRegistry();
/**
 * Travelling code by hash: each module's types apart, so two versions of a type can run side by
 * side. A load in progress is here too: a start that arrives meanwhile waits for it.
 */
const codeRegistries = new Map<string, Promise<TypeRegistry>>();
/**
 * Travelling code whose load here failed: kept in codeRegistries, so that a start that needs it
 * fails with the load's error (the kernel may send the start before it hears of the failure), until
 * a later loadCode tries again.
 */
const failedCodes = new Set<string>();
const agents = new Map<string, Paglet<Record<string, unknown>>>();
/**
 * Paglets whose state may change outside a handler, which the kernel's checkpoint asks about
 * (changedStates): those whose run() is under way, and those that said so (notifyStateChanged).
 */
const runLoops = new Set<string>();
const touched = new Set<string>();

/** Is `paglet` still the instance running under its id here (not left, not replaced)? */
function isCurrent(paglet: Paglet<Record<string, unknown>>): boolean {
  return agents.get(paglet.id) === paglet;
}
let kernel: PortRpc<WorkerOps, KernelOps>;
let host: HostInfo;

const HOOKS: Record<LifecycleEvent["kind"], keyof Paglet> = {
  creation: "onCreation",
  arrival: "onArrival",
  clone: "onClone",
  dispatching: "onDispatching",
  deactivating: "onDeactivating",
  activation: "onActivation",
  disposing: "onDisposing",
};

/**
 * Whether a handler of the paglet is half-way (an async one awaiting), so that its state is the
 * handler's to store: not for a type whose changes only checkpoints store (its handlers' replies
 * store nothing, and a failed one leaves its changes: StateChanges.rollBack).
 */
function halfway(paglet: Paglet<Record<string, unknown>>): boolean {
  return waiting.has(paglet.id) && (paglet.constructor as PagletClass).durability !== "checkpoint";
}

/** The paglet's state as stored: `invalid_state` when it is not plain data. */
function stateBytes(paglet: Paglet<Record<string, unknown>>): Uint8Array {
  try {
    checkPlain(paglet.state, "State");
    return encodeCbor(paglet.state);
  } catch (err) {
    throw PagletError.from(err, "invalid_state");
  }
}

function checkPlain(value: unknown, what: string): void {
  const bad = findNonPlainData(value);
  if (bad) throw new PagletError("invalid_state", `${what} is not plain data at ${bad}`);
}

function validateState(paglet: Paglet<Record<string, unknown>>): void {
  const cls = paglet.constructor as unknown as {
    type: string;
    stateSchema?: {
      safeParse(
        v: unknown,
      ): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } };
    };
  };
  if (!paglet.state || typeof paglet.state !== "object" || Array.isArray(paglet.state)) {
    throw new PagletError("invalid_state", `State of ${cls.type} must be an object`);
  }
  if (cls.stateSchema) {
    const result = cls.stateSchema.safeParse(paglet.state);
    if (!result.success) {
      const issues = result.error!.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join(
        "; ",
      );
      throw new PagletError("invalid_state", `Invalid state for ${cls.type}: ${issues}`);
    }
  }
  checkPlain(paglet.state, "State");
}

async function runHook(paglet: Paglet<Record<string, unknown>>, event: LifecycleEvent): Promise<void> {
  const hook = paglet[HOOKS[event.kind]] as (e: LifecycleEvent) => unknown;
  await hook.call(paglet, event);
}

function startRun(id: string, paglet: Paglet<Record<string, unknown>>): void {
  // Most paglets only react to messages: no run(), no timer, no completion notice.
  if (paglet.run === Paglet.prototype.run) return;
  // A macrotask later: the call that started the paglet gets its answer before run() begins.
  // immediate, not setTimeout(0): the latter waits about 2 ms here, on every create and hop.
  immediate(async () => {
    if (!isCurrent(paglet)) return;
    let error: { code: string; message: string } | null = null;
    runLoops.add(id);
    try {
      await paglet.run();
    } catch (err) {
      error = PagletError.from(err, "run_failed").toWire();
    }
    if (isCurrent(paglet)) runLoops.delete(id);
    // An instance that already left (deactivated, disposed, moved) reports nothing: its id may
    // belong to a newer instance by now.
    if (isCurrent(paglet)) kernel.notify("runFinished", [id, error]);
  });
}

const changes = new StateChanges();

function replyOf(paglet: Paglet<Record<string, unknown>>, value: unknown): [unknown, StateChange] {
  // A handler that ends after its instance left: what it did to the state stays behind, and the
  // id's baseline (maybe a newer instance's) is not touched.
  if (!isCurrent(paglet)) return [value, "unchanged"];
  paglet.notifyStateChanged();
  // The reply takes the state as it is now, changes made outside handlers before it included.
  touched.delete(paglet.id);
  try {
    checkPlain(value, "Reply");
  } catch (err) {
    changes.rollBack(paglet);
    throw err;
  }
  return [value, changes.after(paglet)];
}

/** A handler that threw: its changes to the state are undone (StateChanges.rollBack). */
function failureOf(paglet: Paglet<Record<string, unknown>>, err: unknown): never {
  if (!isCurrent(paglet)) throw PagletError.from(err, "handler_failed");
  changes.rollBack(paglet);
  paglet.notifyStateChanged();
  touched.delete(paglet.id);
  throw PagletError.from(err, "handler_failed");
}

/** A message waiting in the worker behind a handler of the same paglet that is still running. */
interface Queued {
  message: Message;
  /** As in the kernel's mailbox: priority 0 (unqueued) first, then higher priorities, FIFO within one. */
  rank: number;
  resolve: (value: [unknown, StateChange]) => void;
  reject: (error: unknown) => void;
}

/**
 * Per paglet with an asynchronous handler in progress: the messages that arrived meanwhile. The
 * kernel sends a paglet's next messages before its previous replies are back (under load they
 * cross in one batch); they run here one at a time, by priority and then in the order sent, as
 * the kernel's mailbox would have handed them out.
 */
const waiting = new Map<string, Queued[]>();

/**
 * Runs one handler and returns its reply; a failure throws a PagletError (the port sends it in
 * wire form). Synchronous handlers answer without a microtask hop: this is the hot path.
 */
function deliver(id: string, message: Message): [unknown, StateChange] | Promise<[unknown, StateChange]> {
  const queue = waiting.get(id);
  if (queue) {
    return new Promise((resolve, reject) => {
      const rank = message.priority === 0 ? Number.MAX_SAFE_INTEGER : message.priority;
      let i = queue.length;
      while (i > 0 && queue[i - 1].rank < rank) i--;
      queue.splice(i, 0, { message, rank, resolve, reject });
    });
  }
  const result = runHandler(id, message);
  if (result instanceof Promise) {
    waiting.set(id, []);
    void result.then(() => next(id), () => next(id));
  }
  return result;
}

/** Runs the next message that waited for `id`'s handler, if any. */
function next(id: string): void {
  const queue = waiting.get(id)!;
  const item = queue.shift();
  if (!item) {
    waiting.delete(id);
    return;
  }
  let result: [unknown, StateChange] | Promise<[unknown, StateChange]>;
  try {
    result = runHandler(id, item.message);
  } catch (err) {
    item.reject(err);
    next(id);
    return;
  }
  if (result instanceof Promise) {
    result.then(item.resolve, item.reject).finally(() => next(id));
  } else {
    item.resolve(result);
    next(id);
  }
}

/** The paglet `id` leaves this worker: messages waiting behind its handler go back to the kernel. */
function returnWaiting(id: string): void {
  const queue = waiting.get(id);
  if (!queue) return;
  waiting.set(id, []);
  for (const item of queue) {
    item.reject(new PagletError("agent_left", `Agent ${id} left before this message was handled`));
  }
}

function runHandler(id: string, message: Message): [unknown, StateChange] | Promise<[unknown, StateChange]> {
  const paglet = agents.get(id);
  if (!paglet) throw new PagletError("agent_not_found", `Agent ${id} is not running in this worker`);
  let result: unknown;
  try {
    result = paglet.onMessage(message);
  } catch (err) {
    return failureOf(paglet, err);
  }
  if (result instanceof Promise) {
    return result.then((value) => replyOf(paglet, value), (err) => failureOf(paglet, err));
  }
  try {
    return replyOf(paglet, result);
  } catch (err) {
    throw PagletError.from(err, "handler_failed");
  }
}

/** The types of travelling code `hash` once loaded here (waiting for a load in progress). */
async function codeTypes(hash: string): Promise<TypeRegistry | undefined> {
  try {
    return await codeRegistries.get(hash);
  } catch (err) {
    throw codeLoadFailure(err);
  }
}

/** Why a script's top-level work fails on a host, and the fix. */
const TOP_LEVEL_HINT =
  "A script's top level runs on every host that loads it for its paglet classes: put the " +
  "script's own work under `if (import.meta.main)`";

/**
 * Why travelling code did not load, always as `module_load_failed`. A paglets error thrown by its
 * top level is a script doing its own work there (a Runner, `connect()`), which runs on every host
 * that loads the script for its classes: said so, with the fix, rather than passed on as that
 * error's code (`host_unreachable` from a host that looked for a mesh of its own).
 */
function codeLoadFailure(err: unknown): PagletError {
  // Thrown by the script's own top level (a frame of its code says so): where, and why it ran here.
  const at = err instanceof Error && !(err instanceof PagletError) ? scriptFrame(err.stack) : null;
  if (at) {
    return new PagletError(
      "module_load_failed",
      `The module's top-level code threw ${(err as Error).name}: ${
        (err as Error).message
      } (${at}). ${TOP_LEVEL_HINT}`,
    );
  }
  if (!(err instanceof PagletError) || err.code === "module_load_failed") {
    return PagletError.from(err, "module_load_failed");
  }
  // Says so already (connect()): its message as it is.
  if (err.message.includes("import.meta.main")) return new PagletError("module_load_failed", err.message);
  return new PagletError(
    "module_load_failed",
    `The module's top-level code failed on this host with ${err.code}: ${err.message}. ${TOP_LEVEL_HINT}`,
  );
}

function running(id: string): Paglet<Record<string, unknown>> {
  const paglet = agents.get(id);
  if (!paglet) throw new PagletError("agent_not_found", `Agent ${id} is not running in this worker`);
  return paglet;
}

/**
 * The state of a paglet leaving for good (disposed, or stopped after a crash): its own when it is
 * plain data, else the last the kernel has, so that a state spoiled outside any handler (by `run()`
 * or a timer) never keeps the paglet from being removed.
 */
function finalBytes(paglet: Paglet<Record<string, unknown>>): Uint8Array {
  const last = changes.lastOf(paglet.id);
  try {
    checkPlain(paglet.state, "State");
    return encodeCbor(paglet.state);
  } catch (err) {
    if (last) return last;
    throw err;
  }
}

/** What the kernel calls here (WorkerOps in protocol.ts); a throw answers the error with its code. */
const handlers: OpHandlers<WorkerOps> = {
  async init(config: WorkerConfig): Promise<string[]> {
    host = config.host;
    for (const url of config.modules) {
      try {
        await registry.load(url);
      } catch (err) {
        // Named: the kernel reports it to the request that needed this worker.
        const message = err instanceof Error ? err.message : String(err);
        throw new PagletError("module_load_failed", `Module ${url} failed to load: ${message}`);
      }
    }
    return registry.names();
  },

  async loadModule(url: string): Promise<string[]> {
    try {
      return await registry.load(url);
    } catch (err) {
      throw PagletError.from(err, "module_load_failed");
    }
  },

  async loadCode(hash: string, url: string): Promise<string[]> {
    let loading = codeRegistries.get(hash);
    if (!loading || failedCodes.has(hash)) {
      failedCodes.delete(hash);
      const types = new TypeRegistry();
      const load = types.load(url).then(() => types);
      codeRegistries.set(hash, loading = load);
      load.catch(() => {
        if (codeRegistries.get(hash) === load) failedCodes.add(hash);
      });
    }
    try {
      return (await loading).names();
    } catch (err) {
      throw codeLoadFailure(err);
    }
  },

  async start(spec: StartSpec): Promise<Uint8Array> {
    const cls = spec.code ? (await codeTypes(spec.code))?.get(spec.type) : registry.get(spec.type);
    if (!cls) {
      const where = spec.code ? ` in module ${spec.code}` : "";
      throw new PagletError("unknown_agent_type", `Unknown agent type '${spec.type}'${where}`);
    }
    let paglet: Paglet<Record<string, unknown>>;
    try {
      paglet = new cls() as unknown as Paglet<Record<string, unknown>>;
      paglet.id = spec.id;
      const instance = paglet;
      paglet.context = createWorkerContext(kernel, spec.id, host, () => isCurrent(instance));
      paglet[STATE_CHANGED] = () => {
        if (isCurrent(instance)) touched.add(spec.id);
      };
      paglet.state = spec.stateBytes
        ? decodeCbor<Record<string, unknown>>(spec.stateBytes)
        : { ...paglet.initialState(), ...(spec.state ?? {}) };
      validateState(paglet);
    } catch (err) {
      throw PagletError.from(err, "invalid_state");
    }
    agents.set(spec.id, paglet);
    try {
      if (spec.event) await runHook(paglet, spec.event);
      // A hook that finished past its deadline: the kernel took this instance out meanwhile (and
      // may have started another under the same id); what it did is kept by no one.
      if (!isCurrent(paglet)) {
        throw new PagletError("timeout", `The start of ${spec.id} was given up`);
      }
      validateState(paglet);
      const bytes = encodeCbor(paglet.state);
      changes.known(spec.id, bytes);
      if (spec.run) startRun(spec.id, paglet);
      return bytes;
    } catch (err) {
      if (isCurrent(paglet)) agents.delete(spec.id);
      paglet.cancelWaits();
      throw PagletError.from(err, "hook_failed");
    }
  },

  deliver,

  restore(id: string, state: Uint8Array): void {
    running(id).state = decodeCbor<Record<string, unknown>>(state);
    changes.known(id, state);
  },

  snapshot(id: string): Uint8Array {
    return stateBytes(running(id));
  },

  checkpointSnapshot(id: string): Uint8Array | null {
    const paglet = running(id);
    if (halfway(paglet)) return null;
    const bytes = stateBytes(paglet);
    // The kernel stores it: a handler that spoils the state goes back to this.
    changes.known(id, bytes);
    return bytes;
  },

  changedStates(held: string[]): [string, Uint8Array][] {
    const kernelHeld = new Set(held);
    // Changed outside handlers but not to be stored now: the next checkpoint looks at them again.
    // Only those: a held agent that did not change outside handlers is not encoded again then.
    const later: string[] = [];
    const changed: [string, Uint8Array][] = [];
    for (const id of new Set([...runLoops, ...touched])) {
      const paglet = agents.get(id);
      if (!paglet) continue;
      // Half-way through a handler: its reply takes the state (and a failed one leaves no change).
      if (kernelHeld.has(id) || halfway(paglet)) {
        later.push(id);
        continue;
      }
      try {
        const bytes = encodeCbor(paglet.state);
        if (!changes.differs(id, bytes)) continue;
        // Only a state about to be stored pays for the walk (as after a handler).
        checkPlain(paglet.state, "State");
        changes.known(id, bytes);
        changed.push([id, bytes]);
      } catch {
        // Not plain data: the handler or hook that made it so fails with invalid_state.
      }
    }
    touched.clear();
    for (const id of later) if (!runLoops.has(id)) touched.add(id);
    return changed;
  },

  async stop(id: string, event: LifecycleEvent | null): Promise<Uint8Array> {
    const paglet = running(id);
    // Before the stop's own reply: the kernel finds them back in the mailbox it drains.
    returnWaiting(id);
    try {
      if (event?.kind === "disposing") {
        // A disposal is final: a hook that throws is recorded (a worker-error event), not obeyed,
        // or a paglet whose onDisposing always throws could never be got rid of.
        await runHook(paglet, event).catch((err) =>
          kernel.notify("uncaught", [self.name, `onDisposing of ${id} failed: ${describeError(err)}`])
        );
      } else if (event) {
        await runHook(paglet, event);
      }
      // A hook that finished past its deadline: the kernel took this instance out meanwhile (and
      // may have started another under the same id, which must stay).
      if (!isCurrent(paglet)) throw new PagletError("timeout", `The departure of ${id} was given up`);
      // A state that will be started again (activation, arrival) must pass the schema now, while
      // the paglet can still stay: afterwards it could never come back.
      if (event && event.kind !== "disposing") validateState(paglet);
      const bytes = event && event.kind !== "disposing" ? encodeCbor(paglet.state) : finalBytes(paglet);
      agents.delete(id);
      changes.forget(id);
      runLoops.delete(id);
      touched.delete(id);
      paglet.cancelWaits();
      return bytes;
    } catch (err) {
      throw PagletError.from(err, "hook_failed");
    }
  },

  ping(): number {
    return agents.size;
  },

  thread(): number | null {
    try {
      // "/proc/thread-self" links to "<pid>/task/<tid>" (Linux; no FFI needed).
      return Number(Deno.readLinkSync("/proc/thread-self").split("/").pop()) || null;
    } catch {
      return null;
    }
  },
};

// The kernel's one plain message is this worker's end of the channel (worker_pool.ts).
self.onmessage = (event: MessageEvent<{ port: MessagePort }>) => {
  self.onmessage = null;
  kernel = new PortRpc<WorkerOps, KernelOps>(event.data.port, handlers);
};

/**
 * The contract between the kernel (main thread) and its agent workers: every call either side
 * makes, as a map from operation name to `[arguments, result]`, shared by both sides so that a
 * misspelt operation or a wrong argument fails the type check.
 *
 * One mechanism carries both directions: {@link PortRpc} over one MessagePort per worker. It is the
 * one because message delivery, the hot path, needs it (a structured clone of an array frame and no
 * per-call proxy or id generation); the control calls (start, stop, snapshot) are rare and gain
 * nothing from a second mechanism. Adding an operation is one entry in {@link WorkerOps} (kernel →
 * worker) or {@link KernelOps} / {@link ContextOpMap} (worker → kernel) plus its handler.
 */
import type {
  AgentRef,
  ContextEvent,
  CreateOptions,
  HostInfo,
  MeshHost,
  PagletContext,
  ServiceOffer,
  Severity,
} from "../../agents/context.ts";
import type { ArtifactRef } from "../../agents/artifacts.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import type { Message, MessageInput, SendOptions } from "../../agents/message.ts";
import type { PolicyInput } from "../../agents/policy.ts";

/** Operation name → `[arguments, result]`. */
export type OpMap = Record<string, [unknown[], unknown]>;

/** The function serving operation `K` of `M`. */
export type OpHandler<M extends OpMap, K extends keyof M> = (...args: M[K][0]) => M[K][1] | Promise<M[K][1]>;

/** A handler for every operation of `M`. */
export type OpHandlers<M extends OpMap> = { [K in keyof M]: OpHandler<M, K> };

/** What the kernel hands a new worker. */
export interface WorkerConfig {
  host: HostInfo;
  /** Module URLs whose exported paglet classes the worker registers. */
  modules: string[];
}

/** How an agent comes to life in a worker. */
export interface StartSpec {
  id: string;
  type: string;
  /** Hash of the travelling module defining `type` (see host/code/); absent for the host's own types. */
  code?: string;
  /** New agents: merged over initialState(). */
  state?: Record<string, unknown>;
  /** Existing agents (activation, arrival, restore): the stored state as CBOR. */
  stateBytes?: Uint8Array;
  /** The hook to run; null = none (restore after a crash). */
  event: LifecycleEvent | null;
  /** Start run() after the hook. */
  run: boolean;
}

/**
 * What a handler did to the state: the new state as CBOR (the kernel stores it before the reply is
 * sent), `"unchanged"`, or `"checkpoint"` (a type whose changes go with the periodic checkpoint).
 */
export type StateChange = Uint8Array | "unchanged" | "checkpoint";

/** What the kernel calls in a worker. A failure rejects with the worker's PagletError (code kept). */
export type WorkerOps = {
  /** Registers the configured modules; answers the paglet types the worker knows. */
  init: [[config: WorkerConfig], string[]];
  /** Loads one more module of paglet types; answers the types it defines. */
  loadModule: [[url: string], string[]];
  /** Loads travelling code (`url`: a data: URL of the module `hash`); answers the types it defines. */
  loadCode: [[hash: string, url: string], string[]];
  /** Starts an instance (running its hook); answers its state as CBOR. */
  start: [[spec: StartSpec], Uint8Array];
  /** Runs the agent's message handler; answers its reply and what it did to the state. */
  deliver: [[id: string, message: Message], [reply: unknown, change: StateChange]];
  /** Sets the agent's state back to the stored one (a change that could not be stored is undone). */
  restore: [[id: string, state: Uint8Array], void];
  /** Answers the agent's state as CBOR. */
  snapshot: [[id: string], Uint8Array];
  /**
   * The state a checkpoint stores, which the worker then takes as stored; null while a handler of
   * the paglet is half-way (an async one awaiting): its reply takes the state, and a failed one
   * leaves no change behind.
   */
  checkpointSnapshot: [[id: string], Uint8Array | null];
  /**
   * The checkpoint's states changed outside a handler since the kernel last had them: of paglets
   * whose run() is under way or that called notifyStateChanged(), except those in `held` (the
   * kernel cannot store them now) and those half-way through a handler, asked again next time.
   * The kernel stores them; the worker takes them as stored.
   */
  changedStates: [[held: string[]], [id: string, state: Uint8Array][]];
  /** Runs the hook (if any), snapshots, and removes the instance. */
  stop: [[id: string, event: LifecycleEvent | null], Uint8Array];
  /** Answers at once with the number of agents (a stuck worker does not answer). */
  ping: [[], number];
  /** The worker's OS thread id (Linux), or null: what the kernel idles if the worker ever loops. */
  thread: [[], number | null];
};

/** A failure of run(), in wire form. */
export type RunError = { code: string; message: string };

/** What a worker calls in the kernel. */
export type KernelOps = {
  /** A context operation on behalf of paglet `agentId` (see {@link ContextOpMap}). */
  context: [[op: keyof ContextOpMap, agentId: string, args: unknown[]], unknown];
  /** run() of `agentId` ended (sent as a notification: nobody waits for an answer). */
  runFinished: [[agentId: string, error: RunError | null], void];
  /** An error no handler caught in worker `worker` (its name), as text; the worker runs on (a notification). */
  uncaught: [[worker: string, error: string], void];
};

type Options<K extends keyof PagletContext, I extends number> = NonNullable<
  // deno-lint-ignore no-explicit-any
  PagletContext[K] extends (...args: any[]) => unknown ? Parameters<PagletContext[K]>[I] : never
>;

/**
 * The operations of the paglet context, served by the kernel (and its extensions) for the paglet
 * that calls them; the handler gets the calling agent's id first, then these arguments.
 */
export type ContextOpMap = {
  create: [[type: string, options: CreateOptions], AgentRef];
  send: [
    [
      target: string,
      targetHost: string | undefined,
      input: MessageInput,
      options: SendOptions & { oneway?: boolean },
    ],
    unknown,
  ];
  "multicast.targets": [[options: Options<"multicast", 1>], string[]];
  dispose: [[target: string, targetHost?: string], void];
  deactivate: [[policy: PolicyInput], void];
  dispatch: [[target: string], AgentRef];
  clone: [[target: string | null], AgentRef];
  retract: [[agentId: string, from: string], AgentRef];
  agents: [[filter: Options<"agents", 0>], { id: string; type: string; status: string }[]];
  hosts: [[options: { onlineOnly?: boolean }], MeshHost[]];
  waitForHost: [[nameOrUrl: string, timeoutMs: number], boolean];
  isHostOnline: [[nameOrUrl: string], boolean];
  workDir: [[], string];
  registerFile: [[path: string, options: Options<"registerFile", 1>], unknown];
  unregisterFile: [[name: string], boolean];
  filePath: [[name: string], string | null];
  uploadArtifact: [[path: string, options: Options<"uploadArtifact", 1>], ArtifactRef];
  downloadArtifact: [[ref: ArtifactRef, options: Options<"downloadArtifact", 1>], string];
  deleteArtifact: [[ref: ArtifactRef], void];
  callService: [[service: string, op: string, request: unknown, options: Options<"callService", 3>], unknown];
  "services.lookup": [[service: string, scope: "local" | "mesh"], ServiceOffer[]];
  notifyUser: [[severity: Severity, title: string, text: string, fields: Record<string, unknown>], boolean];
  events: [[since: number, limit: number], ContextEvent[]];
  "code.module": [[hash: string, from: string | undefined], string];
  "compute.run": [[step: Options<"runCompute", 0>], Awaited<ReturnType<PagletContext["runCompute"]>>];
  "storage.read": [[path: string], Uint8Array | null];
  "storage.write": [[path: string, data: Uint8Array], void];
  "storage.delete": [[path: string], void];
  "storage.list": [[], string[]];
  "storage.status": [[], { usedBytes: number; quotaBytes: number | null }];
};

/** The kernel-side function of context operation `K`: the calling agent's id, then its arguments. */
export type ContextOpHandler<K extends keyof ContextOpMap> = (
  agentId: string,
  ...args: ContextOpMap[K][0]
) => ContextOpMap[K][1] | Promise<ContextOpMap[K][1]>;

/** Handlers for some context operations (an extension registers the ones it serves). */
export type ContextOpHandlers = { [K in keyof ContextOpMap]?: ContextOpHandler<K> };

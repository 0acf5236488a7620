/** The contract between the kernel (main thread) and its agent workers (comlink on both sides). */
import type { HostInfo } from "../../agents/context.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import type { Message } from "../../agents/message.ts";

/** Either a value or an error in wire form: errors keep their code across the worker boundary. */
export type Outcome<T = unknown> = { ok: true; value: T } | {
  ok: false;
  error: { code: string; message: string; details?: unknown };
};

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
 * Worker API, called by the kernel through comlink (the control plane). `deliver` also travels on
 * the lean port (see port_rpc.ts) as the request "deliver"; the worker's calls to the kernel go
 * there as "call" (a request) and "runFinished" (a notification).
 */
export interface WorkerApi {
  /** `port`: the worker's end of the hot-path channel. */
  init(config: WorkerConfig, port: MessagePort): Promise<string[]>;
  loadModule(url: string): Promise<Outcome<string[]>>;
  /** Loads travelling code (`url`: a data: URL of the module `hash`); returns the types it defines. */
  loadCode(hash: string, url: string): Promise<Outcome<string[]>>;
  start(spec: StartSpec): Promise<Outcome<Uint8Array>>;
  deliver(id: string, message: Message): Promise<Outcome>;
  snapshot(id: string): Outcome<Uint8Array>;
  /** Runs the hook (if any), snapshots, and removes the instance. */
  stop(id: string, event: LifecycleEvent | null): Promise<Outcome<Uint8Array>>;
  ping(): number;
}

/** Kernel API, called by paglets through their worker (over the lean port). */
export interface KernelApi {
  call(op: string, agentId: string, args: unknown[]): Promise<Outcome>;
  runFinished(agentId: string, error: { code: string; message: string } | null): void;
}

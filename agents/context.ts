/** What a paglet sees of its host: the context API. Implemented by the host's agent worker. */
import type { MessageInput, SendOptions } from "./message.ts";
import type { PolicyInput } from "./policy.ts";
import type { FutureReply, ReplySet } from "./futures.ts";
import type { ArtifactRef } from "./artifacts.ts";

/** Identity of the host a paglet runs on. */
export interface HostInfo {
  name: string;
  url: string;
  meshVersion: string;
  tags: string[];
  properties: Record<string, string>;
  cpuCount: number;
  /** The paglets version it runs (`0.1.0+3f9a1c2e4b7d`); absent for hosts that did not say. */
  version?: string;
}

/** A reference to an agent: its id and the URL of the host it was last seen on. */
export interface AgentRef {
  id: string;
  host: string;
}

/** A host of the mesh as paglets see it. */
export interface MeshHost {
  name: string;
  url: string;
  online: boolean;
  lastSeen: number;
  meshVersion: string;
  tags: string[];
  properties: Record<string, string>;
  cpuCount: number;
  /** The paglets version it runs ({@link HostInfo.version}). */
  version?: string;
}

/** Options of {@link PagletContext.create}. */
export interface CreateOptions {
  /** Merged over the new paglet's initial state. */
  state?: Record<string, unknown>;
  /** Passed to `onCreation`. */
  args?: Record<string, unknown>;
  /** Host name or URL to create it on; default this host. */
  host?: string;
  /** A preassigned agent id (for idempotent launches). */
  id?: string;
  /**
   * Hash of the travelling module that defines `type`. Default: the creator's own module when it
   * defines `type` (a script's paglets create each other by type name), else the host's types.
   */
  code?: string;
}

/** Per-type persistent storage that survives restarts, with a quota. */
export interface PersistentStorage {
  readBytes(path: string): Promise<Uint8Array | null>;
  writeBytes(path: string, data: Uint8Array): Promise<void>;
  readText(path: string): Promise<string | null>;
  writeText(path: string, text: string): Promise<void>;
  delete(path: string): Promise<void>;
  list(): Promise<string[]>;
  status(): Promise<{ usedBytes: number; quotaBytes: number | null }>;
}

/** A recent host event. */
export interface ContextEvent {
  id: number;
  kind: string;
  at: number;
  agentId?: string;
  type?: string;
  data?: Record<string, unknown>;
  error?: string;
}

/** Severity of a user notification. */
export type Severity = "info" | "warning" | "error";

/** A host offering a resident service (an answer of {@link PagletContext.lookupService}). */
export interface ServiceOffer {
  service: string;
  version: string;
  scope: "local" | "mesh";
  lifecycle: "eager" | "lazy";
  running: boolean;
  operations: string[];
  hostName: string;
  hostUrl: string;
}

/** The host API a paglet uses. Every method is asynchronous: it crosses from the worker to the kernel. */
export interface PagletContext {
  /** This paglet's id. */
  readonly agentId: string;
  /** The host this paglet is running on. */
  readonly host: HostInfo;
  /** Creates another paglet (here or on another host) and returns its reference. */
  create(type: string, options?: CreateOptions): Promise<AgentRef>;
  /** Sends a message and awaits the reply. */
  send(target: string | AgentRef, message: MessageInput, options?: SendOptions): Promise<unknown>;
  /** Sends a message without waiting for its handling. */
  sendOneway(target: string | AgentRef, message: MessageInput, options?: SendOptions): Promise<void>;
  /** Sends a message and returns a future for the reply. */
  sendFuture(target: string | AgentRef, message: MessageInput, options?: SendOptions): FutureReply;
  /** Sends a message to every active paglet on this host (except `exclude`) and returns the replies. */
  multicast(
    message: MessageInput,
    options?: { exclude?: string[]; includeSelf?: boolean },
  ): Promise<ReplySet>;
  /**
   * Disposes a paglet (default: this one): an id names one on this host, a ref `{id, host}` one on
   * the host it names. Disposing oneself ends the paglet after the current handler.
   */
  dispose(target?: string | AgentRef): Promise<void>;
  /**
   * Deactivates this paglet to disk under `policy` (its fields, or `afterSeconds` for a wake-up
   * that many seconds from now; a field it lacks or a wrong value fails the call with
   * `invalid_request`). It ends after the current handler.
   */
  deactivate(policy?: PolicyInput): Promise<void>;
  /**
   * Moves this paglet to another host (name or URL): onDispatching runs here, onArrival and run()
   * there. Resolves with the new reference once the target holds it; state changed after that
   * stays behind. On failure this paglet stays here; this instance too when the move failed before
   * `onDispatching` ran (the preflight), else the paglet goes on as a new instance (restarted here
   * after a refusal, or on the target once an unconfirmed move resolves): see {@link isCurrent}.
   */
  dispatch(target: string): Promise<AgentRef>;
  /**
   * Whether this instance still acts for the paglet here. It is false once the paglet was
   * dispatched, deactivated or disposed, and after a move that failed once `onDispatching` had run
   * (`transfer_pending`, a late refusal). Code of an instance that has left can no longer use its
   * context (every call fails with `state_conflict`): after a failed `dispatch()`, go on only if
   * this is still true, else return.
   */
  isCurrent(): boolean;
  /** Copies this paglet to a host (default this host); returns the clone's reference. */
  clone(target?: string): Promise<AgentRef>;
  /** Pulls paglet `agentId` from host `from` (name or URL) to this host; returns its new reference. */
  retract(agentId: string, from: string): Promise<AgentRef>;
  /** Agents on this host. */
  agents(
    options?: { status?: "active" | "inactive"; type?: string },
  ): Promise<{ id: string; type: string; status: string }[]>;
  /** Hosts of the mesh, this one included. */
  hosts(options?: { onlineOnly?: boolean }): Promise<MeshHost[]>;
  /** Waits until the named host is online; false on timeout. */
  waitForHost(nameOrUrl: string, timeoutMs?: number): Promise<boolean>;
  /** Is the named host online? */
  isHostOnline(nameOrUrl: string): Promise<boolean>;
  /** This paglet's scratch directory (cleared on dispose and at host start). */
  workDir(): Promise<string>;
  /** Storage shared by all paglets of this type on this host. */
  persistentStorage(): PersistentStorage;
  /**
   * Registers a file (a relative path is inside the work dir) that travels with this paglet on
   * dispatch and clone, checksummed, and is in its work dir before onArrival/onClone runs there.
   * `move` deletes the source once a dispatch succeeded; clones always copy.
   */
  registerFile(path: string, options?: { name?: string; mode?: "copy" | "move" }): Promise<void>;
  /** Forgets a registered file (the file stays); false if none had that name. */
  unregisterFile(name: string): Promise<boolean>;
  /** Local path of a registered file on the host this paglet is on now; null if none. */
  filePath(name: string): Promise<string | null>;
  /** Uploads a file (relative: inside the work dir) as an artifact, to this host or `host`. */
  uploadArtifact(
    path: string,
    options?: { name?: string; host?: string; owner?: string },
  ): Promise<ArtifactRef>;
  /** Downloads an artifact (checked by SHA-256) into the work dir (or `path`); returns the local path. */
  downloadArtifact(ref: ArtifactRef, options?: { path?: string; move?: boolean }): Promise<string>;
  /** Deletes an artifact wherever it is hosted. */
  deleteArtifact(ref: ArtifactRef): Promise<void>;
  /** Calls an operation of a resident service on this host or another. */
  callService(
    service: string,
    op: string,
    request?: unknown,
    options?: { host?: string; timeoutMs?: number },
  ): Promise<unknown>;
  /** Hosts offering a resident service: this one (`local`), or every online host (`mesh`, the default). */
  lookupService(service: string, options?: { scope?: "local" | "mesh" }): Promise<ServiceOffer[]>;
  /**
   * Notifies the people watching the mesh; never throws (false when it could not be delivered).
   * `fields.homeHost` (name or URL) sends it to that host's user-info, e.g. the entry host a job
   * came from; `fields.jobId` is shown with it.
   */
  notifyUser(
    severity: Severity,
    title: string,
    text: string,
    fields?: Record<string, unknown>,
  ): Promise<boolean>;
  /** Recent events of this host. */
  events(since?: number, limit?: number): Promise<ContextEvent[]>;
  /**
   * Runs a compute step under a compute-slots lease this paglet holds: in a compute worker
   * thread pinned to the lease's CPU ids, off this paglet's worker (which keeps handling
   * messages meanwhile). `ComputeJobPaglet` does this for you.
   */
  runCompute<R = unknown>(step: ComputeStepSpec): Promise<ComputeStepOutcome<R>>;
  /**
   * Travelling code by content hash as a `data:` URL a compute step can import: from this host's
   * code store, else fetched once from `from` (a host of the mesh, `GET /v1/code/:hash`; without
   * it, from the online hosts of the mesh in turn), checked against the hash and stored first. Fails with `code_unavailable`, `code_tampered` or
   * `remote_code_disabled`.
   */
  codeModuleUrl(hash: string, from?: string): Promise<string>;
}

/** A compute step for {@link PagletContext.runCompute}. */
export interface ComputeStepSpec {
  /** The compute-slots lease the step runs under; the worker thread is pinned to its CPU ids. */
  leaseId: string;
  /** Module exporting the step function (file:, data: or https: URL). */
  moduleUrl: string;
  /** Name of the exported function; it gets `args` (structured-clone data) and may be async. */
  exportName: string;
  args?: unknown;
  /**
   * Names the step, so that compute-slots' `abort-step` can end it (and no later step of the
   * lease); the step then rejects with `step_aborted` and the lease stays held.
   */
  tag?: string;
  /** Release the lease as soon as the step ends, success or failure (saves a round trip). @default false */
  releaseLease?: boolean;
  /** Paths (files or folders) whose size the host samples for the usage history while the step runs. */
  usagePaths?: string[];
}

/** What a compute step returned, and how it was pinned. */
export interface ComputeStepOutcome<R = unknown> {
  result: R;
  affinity: ComputeStepAffinity;
}

/** How a compute step ran with respect to CPU affinity. */
export interface ComputeStepAffinity {
  /** The lease's CPU ids the step was pinned to. */
  cpuIds: number[];
  /** This host can set thread affinity at all. */
  supported: boolean;
  /** The thread ran pinned to exactly the lease's CPU ids when the step started. */
  enforced: boolean;
  /** Why affinity is not supported or not enforced. */
  error?: string;
  /** The thread's `Cpus_allowed_list` when the step started, as the OS reports it. */
  observedCpus: number[];
  /** OS thread id of the compute worker. */
  tid?: number;
}

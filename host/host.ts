/**
 * A paglets host: the kernel process of one machine. It serves the HTTP API, keeps agent records
 * in SQLite, runs paglets in a worker pool, and fires timed wake-ups.
 *
 * @example
 * ```ts
 * const host = await Host.start({ name: "laptop", port: 0, dataDir: "/tmp/laptop" });
 * console.log(host.url);
 * await host.stop();
 * ```
 */
import { millisecondsFromEnv } from "./env_ms.ts";
import { join } from "../agents/paths.ts";
import type { Kysely } from "kysely";
import type { Hono } from "hono";
import type { HostInfo } from "../agents/context.ts";
import { PagletError } from "../agents/errors.ts";
import { AgentRuntime } from "./kernel/agent_runtime.ts";
import { AgentStore } from "./storage/agent_store.ts";
import { openDatabase, type Schema } from "./storage/schema.ts";
import type { NodeSqliteDatabase } from "./storage/sqlite_adapter.ts";
import { EventLog, MESH_HOST_BACK } from "./kernel/events.ts";
import { MODULE_LOAD_TIMEOUT_MS, WorkerPool } from "./kernel/worker_pool.ts";
import { HOOK_TIMEOUT_MS } from "./kernel/hook_deadline.ts";
import { ContextOps } from "./kernel/context_ops.ts";
import { type HostOptions, resolveOptions } from "./options.ts";
import { PersistentStorageRoot } from "./storage/persistent_storage.ts";
import { WorkDirs } from "./storage/work_dirs.ts";
import { buildHandler } from "./http/app.ts";
import { registerLocalOps } from "./kernel/local_ops.ts";
import { WakeupTimer } from "./kernel/wakeup_timer.ts";
import type { RemoteRouter } from "./kernel/remote.ts";
import { DataDirLock } from "./data_dir_lock.ts";
import { SDK_MODULES } from "./sdk_modules.ts";
import { CodeStore } from "./code/store.ts";
import { startCodeSweep } from "./code/code_sweep.ts";
import { loadHostId } from "./host_id.ts";
import { CodeLoader } from "./code/code_loader.ts";
import { MessageRouter } from "./kernel/message_router.ts";
import { DurabilityFailures } from "./kernel/durability.ts";
import { HostMetrics } from "./metrics/host_metrics.ts";
import { HostSamples } from "./dashboard/samples.ts";
import { checkListenAddress, HttpFrontend } from "./http/frontend.ts";
import { cancel, every, type Timer } from "../agents/timers.ts";

import { version } from "./version.ts";
export { version };

/** A hook other parts of the host plug into at start and stop (mesh, services). */
export interface HostExtension {
  name: string;
  start(host: Host): Promise<void> | void;
  stop?(host: Host): Promise<void> | void;
  /**
   * Paglet type modules (URLs) this extension brings: loaded into every agent worker, like the
   * host's `modules` option (`--module`).
   */
  modules?: readonly string[];
  /** Registers HTTP routes; called once while the app is built, before start(). */
  routes?(app: Hono, host: Host): void;
}

export class Host {
  readonly options: HostOptions;
  readonly events = new EventLog();
  readonly ops = new ContextOps();
  readonly startedAt = Date.now();
  /** Failures that may lose durable state: events, log lines and counters for /metrics. */
  durability!: DurabilityFailures;
  /** GET /metrics: the kernel's families; services and extensions add theirs. */
  readonly metrics = new HostMetrics();
  /** Load and memory over the last minutes (the dashboard's charts). */
  samples!: HostSamples;
  readonly extensions: HostExtension[] = [];
  db!: Kysely<Schema>;
  rawDb!: NodeSqliteDatabase;
  store!: AgentStore;
  pool!: WorkerPool;
  runtime!: AgentRuntime;
  /** The one path of every message to an agent (see kernel/message_router.ts). */
  router!: MessageRouter;
  storage!: PersistentStorageRoot;
  workDirs!: WorkDirs;
  /** Travelling code by hash (host/code/). */
  codeStore!: CodeStore;
  code!: CodeLoader;
  info!: HostInfo;
  /** This host's id across restarts, renames and new addresses (host_id.ts). */
  id!: string;
  /** Set by the mesh extension; without it the host works alone. */
  remote?: RemoteRouter;
  /**
   * How long a paglet's send waits for its reply when it names no `timeoutMs`
   * (`PAGLETS_SEND_TIMEOUT_MS`, default 30 s).
   */
  readonly sendTimeoutMs = millisecondsFromEnv("PAGLETS_SEND_TIMEOUT_MS", 30_000);
  /** How long a start's or a departure's hook may take (`PAGLETS_HOOK_TIMEOUT_MS`, default 30 s). */
  readonly hookTimeoutMs = millisecondsFromEnv("PAGLETS_HOOK_TIMEOUT_MS", HOOK_TIMEOUT_MS);
  #frontend?: HttpFrontend;
  #refusalsReportedAt = 0;
  #handler?: (request: Request) => Response | Promise<Response>;
  #timers: Timer[] = [];
  #wakeups?: WakeupTimer;
  #lock?: DataDirLock;
  readonly #stopping = new AbortController();
  /** Event streams (`GET /v1/events/stream`) open now. */
  eventStreams = 0;
  /** Not yet serving agents, or shutting down: the API answers 503. */
  ready = false;
  draining = false;

  private constructor(options: HostOptions) {
    this.options = options;
  }

  /** Aborts when the host begins to stop: long-lived answers (event streams) end on it. */
  get stopping(): AbortSignal {
    return this.#stopping.signal;
  }

  get url(): string {
    return this.info.url;
  }

  get name(): string {
    return this.options.name;
  }

  /** Starts a host; resolves once it serves the full API. */
  static async start(partial: Partial<HostOptions>, extensions: HostExtension[] = []): Promise<Host> {
    const host = new Host(resolveOptions(partial));
    host.extensions.push(...extensions);
    await host.#start();
    return host;
  }

  async #start(): Promise<void> {
    const o = this.options;
    this.durability = new DurabilityFailures(this.events, o.quiet);
    // The pool starts its first worker when an agent first needs one (a worker started early for
    // this process starts loading at once); workers learn the host's URL once it is known.
    const info = Promise.withResolvers<HostInfo>();
    info.promise.catch(() => {}); // a failure to open is thrown by #open below; the workers just end
    const modules = [...SDK_MODULES, ...this.extensions.flatMap((ext) => ext.modules ?? []), ...o.modules];
    this.pool = new WorkerPool(
      info.promise.then((host) => ({ host, modules })),
      {
        context: (op, agentId, args) => this.ops.call(op, agentId, args),
        runFinished: (agentId, error) => void this.runtime.runFinished(agentId, error),
        uncaught: (worker, error) => this.#workerError(worker, error),
      },
      modules,
      millisecondsFromEnv("PAGLETS_MODULE_LOAD_TIMEOUT_MS", MODULE_LOAD_TIMEOUT_MS),
    );
    try {
      checkModuleFiles(o.modules);
      this.pool.start(o.workers);
      info.resolve(await this.#open());
    } catch (err) {
      info.reject(err);
      this.pool.close();
      // The start failed before any agent ran here: closing can lose nothing.
      await this.#frontend?.shutdown();
      await this.db?.destroy().catch(() => {});
      this.#lock?.release();
      throw err;
    }
    this.runtime = new AgentRuntime(this.store, this.pool, this.events, () => this.info, {
      code: this.code,
      hookTimeoutMs: this.hookTimeoutMs,
      workerError: (worker, error) => this.#workerError(worker, error),
    });
    this.router = new MessageRouter(this.runtime, () => this.remote ?? null);
    this.ops.onCall = (id) => this.runtime.touch(id);
    this.runtime.onGone.add((id, why) => {
      // A departing agent keeps its work dir until the target confirms (mobility removes it then).
      if (why === "dispose") void this.workDirs.remove(id);
    });
    registerLocalOps(this);
    this.metrics.watchKernel(this);
    this.samples = new HostSamples(this.options.dataDir, this.options.hostSampleMs);
    this.samples.start();
    this.events.subscribe((e) => {
      if (e.kind === "code-loaded" && (e.data as { from?: string } | undefined)?.from !== "store") {
        this.metrics.codeFetches.inc({ outcome: "loaded" });
      } else if (e.kind === "code-rejected" && (e.data as { from?: string } | undefined)?.from !== "upload") {
        // Fetched from another host and refused; an upload that fails its own check is no fetch.
        this.metrics.codeFetches.inc({ outcome: "rejected" });
      }
    });

    // A host that may have the code of a restore waiting for it is reachable (again); heard from the
    // mesh's start on, which may find its hosts while the restore below runs. Failed timed wake-ups
    // it may mend are made due now: the wake-up timer takes them.
    this.events.subscribe((e) => {
      if (MESH_HOST_BACK.has(e.kind)) this.retryWaitingCode();
    });
    for (const ext of this.extensions) await ext.start(this);
    const restored = await this.runtime.restoreAtStartup();
    this.#wakeups = new WakeupTimer(this.store, (id, now) => this.runtime.wake(id, now));
    this.events.subscribe((e) => {
      if (e.kind === "deactivate" && typeof e.data?.activateAt === "number") this.#wakeups?.poke();
    });
    this.#wakeups.poke();
    this.#timers.push(
      every(
        1000,
        () => void this.runtime.checkpoint().catch((err) => this.durability.report("checkpoint", err)),
      ),
      // After the restore: the agents it brought back name their modules in their records.
      startCodeSweep(this),
    );
    this.ready = true;
    this.events.emit("context-start", {
      data: { url: this.info.url, ...restored },
    });
  }

  /** An error that escaped every handler in an agent worker (agent_worker.ts): recorded; nothing stops. */
  #workerError(worker: string, error: string): void {
    this.events.emit("worker-error", { data: { worker, error } });
    if (!this.options.quiet) console.error(`paglets: uncaught error in ${worker}: ${error}`);
  }

  /** Opens the database and starts serving (port 0 resolves to a real port); returns the host's info. */
  async #open(): Promise<HostInfo> {
    const o = this.options;
    // A mistyped --bind or a taken --port stops the start before the data dir is made or opened.
    checkListenAddress(o.bind, o.port);
    await Deno.mkdir(o.dataDir, { recursive: true });
    // Before anything reads the data dir: a second host on it would take over this one's agents.
    this.#lock = DataDirLock.acquire(o.dataDir);
    ({ db: this.db, raw: this.rawDb } = openDatabase(join(o.dataDir, "host.sqlite")));
    this.id = loadHostId(o.dataDir);
    this.store = new AgentStore(this.db, this.rawDb.raw);
    this.storage = new PersistentStorageRoot(join(o.dataDir, "storage"), o.persistentStorageQuota);
    this.workDirs = new WorkDirs(join(o.dataDir, "work"));
    this.codeStore = new CodeStore(join(o.dataDir, "code"));
    this.code = new CodeLoader({
      store: this.codeStore,
      pool: this.pool,
      events: this.events,
      remoteCode: o.remoteCode,
      apiKey: o.apiKey,
      isMeshHost: async (url) => (await this.remote?.hosts())?.some((h) => h.url === url) ?? false,
      meshPeers: async () =>
        ((await this.remote?.hosts({ onlineOnly: true })) ?? []).map((h) => h.url).filter((url) =>
          url !== this.url
        ),
      maxModuleBytes: o.maxBodyBytes,
    });
    await this.workDirs.prune(await this.store.ids());

    this.#handler = buildHandler(this);
    this.#frontend = await HttpFrontend.start(this.#handler, {
      bind: o.bind,
      port: o.port,
      maxConnections: o.maxConnections,
      headerTimeoutMs: o.headerTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxHeaderBytes: o.maxHeaderBytes,
      onError: (err) => {
        this.events.emit("http-error", { error: String(err) });
        return new Response(JSON.stringify({ error: { code: "internal", message: "Internal error" } }), {
          status: 500,
        });
      },
      onGateEvent: (event) => {
        // At most one event a second: a flood of refusals must not flood the event log too.
        const now = Date.now();
        if (now - this.#refusalsReportedAt < 1000) return;
        this.#refusalsReportedAt = now;
        this.events.emit(`http-${event.kind === "refused" ? "connection-refused" : "accept-failed"}`, {
          data: event.kind === "refused" ? { open: event.open } : {},
          ...(event.kind === "accept-failed" ? { error: event.error } : {}),
        });
      },
    });
    const addr = this.#frontend.addr;
    const hostPart = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    // A wildcard address is not one to connect to: the loopback address stands for it.
    const reachable = hostPart === "0.0.0.0" ? "127.0.0.1" : hostPart === "[::]" ? "[::1]" : hostPart;
    this.info = {
      name: o.name,
      url: (o.publicUrl ?? `http://${reachable}:${addr.port}`).replace(
        /\/+$/,
        "",
      ),
      meshVersion: o.meshVersion,
      tags: o.tags,
      properties: o.properties,
      cpuCount: navigator.hardwareConcurrency || 1,
      version: version(),
    };
    return this.info;
  }

  /**
   * Answers `request` as the HTTP server would, without a connection: how a CLI command talks to the
   * host it embeds (HostClient's `transport`).
   */
  async handle(request: Request): Promise<Response> {
    if (!this.#handler) throw new PagletError("host_unreachable", "The host is not serving yet");
    return await this.#handler(request);
  }

  /** Client connections open now (see host/http/connection_gate.ts). */
  get connections(): number {
    return this.#frontend?.connections ?? 0;
  }

  /** Re-plans the wake-up timer (after a deactivation with a wake time). */
  pokeWakeups(): void {
    this.#wakeups?.poke();
  }

  /**
   * Code that agents wait for may be reachable now (a mesh host joined or came back, a module was
   * uploaded): waiting restores are tried at once, and failed timed wake-ups it may mend are made
   * due for the wake-up timer to take. A host that comes back does so for those with early tries left
   * (start_retries.ts); a module uploaded here (`codeUploaded`, an operator's act) for every one.
   */
  retryWaitingCode(codeUploaded = false): void {
    void this.runtime.retryWaitingRestores(codeUploaded).then(
      () => this.#wakeups?.poke(),
      () => {/* the database is closing: the timed tries stand */},
    );
  }

  /**
   * Graceful stop: stop taking work, deactivate agents (they return at next start), close. With
   * `discardData` (a host whose data dir is deleted next: the embedded host of a CLI command) the
   * database is left to the process's end instead of closed: closing writes its log into the
   * database file (8-13 ms), which is about to be deleted. Agents' hooks run as in any stop.
   */
  async stop(options: { discardData?: boolean } = {}): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.#stopping.abort();
    this.events.emit("context-shutdown", {});
    for (const t of this.#timers) cancel(t);
    this.metrics.stop();
    this.samples?.stop();
    // Before the agents are deactivated: no timed wake-up or waiting restore starts one after that
    // (those under way end first, a wake-up within the deadline of the hook it runs).
    await Promise.all([this.#wakeups?.close(), this.runtime?.stopRestoreRetries()]);
    for (const ext of [...this.extensions].reverse()) await ext.stop?.(this);
    if (this.runtime) {
      await this.runtime.deactivateAll(
        5000,
        (id, err) => this.durability.report("shutdown-deactivation", err, id),
      );
      await this.runtime.checkpoint(true).catch((err) => this.durability.report("final-checkpoint", err));
      this.runtime.close();
    }
    this.pool?.close();
    // Everything durable is written above (or reported): a failure to close loses nothing more.
    await this.#frontend?.shutdown();
    if (!options.discardData) await this.db?.destroy().catch(() => {});
    this.#lock?.release();
  }

  /** Immediate stop without deactivation (tests of crash recovery use a real SIGKILL instead). */
  async abort(): Promise<void> {
    this.draining = true;
    this.#stopping.abort();
    for (const t of this.#timers) cancel(t);
    this.metrics.stop();
    this.samples?.stop();
    void this.#wakeups?.close(); // not waited for: an abort stands in for a crash
    this.runtime?.close();
    this.pool?.close();
    // An abort saves nothing by design (it stands in for a crash).
    await this.#frontend?.shutdown();
    await this.db?.destroy().catch(() => {});
    this.#lock?.release();
  }
}

/**
 * A `--module` file that does not exist fails the start with `module_not_found`: the workers, which
 * import the modules, start only when agents first need them (a module that fails to load fails
 * that first need with `module_load_failed`).
 */
function checkModuleFiles(modules: readonly string[]): void {
  for (const url of modules) {
    if (!url.startsWith("file:")) continue;
    let isFile = false;
    try {
      isFile = Deno.statSync(new URL(url)).isFile;
    } catch { /* missing: below */ }
    if (!isFile) throw new PagletError("module_not_found", `Module ${url} was not found (check --module)`);
  }
}

/**
 * The resident services of one host: who is registered, who is running, and calls with
 * validation at both ends.
 *
 * Lifecycle rules:
 * - eager services start in {@link ServiceRegistry.startEager} (host start) and stop with the host;
 * - a lazy service starts on its first call; concurrent first calls share one start;
 * - after its idle timeout with no call in flight (and not `busy()`) a lazy service is stopped and
 *   stays listed (`running: false`); the next call starts it again;
 * - a failed start is reported to the caller (and as a `service-failed` event) and retried on the
 *   next call.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry((name) => createServiceHost(host, registry, name), host.events);
 * registry.register(serverInfoService());
 * await registry.startEager();
 * const reply = await registry.call("server-info", "load", {}, { via: "kernel" });
 * ```
 *
 * @module
 */
import { PagletError } from "../agents/errors.ts";
import { validate } from "../agents/operations.ts";
import type { EventLog } from "../host/kernel/events.ts";
import {
  type AnyOperation,
  jsonSchemaOf,
  type OperationDescription,
  type RunningService,
  type ServiceCall,
  type ServiceDefinition,
  type ServiceDescription,
  type ServiceStopReason,
} from "./contract.ts";
import type { ServiceHost } from "./service_host.ts";
import { cancel, later, type Timer } from "../agents/timers.ts";

/** Options of {@link ServiceRegistry}. */
export interface RegistryOptions {
  /** Overrides every lazy service's idle timeout (tests use a short one). */
  idleTimeoutMs?: number;
}

type Phase = "stopped" | "starting" | "running" | "stopping";

interface Entry {
  definition: ServiceDefinition;
  host: ServiceHost;
  phase: Phase;
  instance?: RunningService;
  /** The start in progress (shared by concurrent first calls). */
  starting?: Promise<RunningService>;
  /** The stop in progress; never rejects. */
  stopping?: Promise<void>;
  inFlight: number;
  idleTimer?: Timer;
  starts: number;
}

export class ServiceRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #hostFor: (service: string) => ServiceHost;
  readonly #events: EventLog;
  readonly #options: Readonly<RegistryOptions>;
  #closed = false;

  constructor(hostFor: (service: string) => ServiceHost, events: EventLog, options: RegistryOptions = {}) {
    this.#hostFor = hostFor;
    this.#events = events;
    this.#options = Object.freeze({ ...options });
  }

  /** Adds a service; a name can be registered once. */
  register(definition: ServiceDefinition): void {
    const { name } = definition.contract;
    if (this.#entries.has(name)) throw new RangeError(`Service '${name}' is already registered`);
    this.#entries.set(name, {
      definition: definition as ServiceDefinition,
      host: this.#hostFor(name),
      phase: "stopped",
      inFlight: 0,
      starts: 0,
    });
    this.#events.emit("service-register", {
      data: { service: name, lifecycle: definition.contract.lifecycle, scope: definition.contract.scope },
    });
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Every registered service, running or not. */
  list(): ServiceDescription[] {
    return [...this.#entries.values()].map((e) => this.#describe(e));
  }

  /** One service, or null. */
  describe(name: string): ServiceDescription | null {
    const entry = this.#entries.get(name);
    return entry ? this.#describe(entry) : null;
  }

  /** The operations of a service with their JSON Schemas. */
  operationSchemas(name: string): Promise<OperationDescription[]> {
    const entry = this.#entry(name);
    return Promise.all(
      Object.values(entry.definition.contract.operations).map(async (op) => ({
        name: op.name,
        request: await jsonSchemaOf(op.request, "input"),
        reply: await jsonSchemaOf(op.reply, "output"),
      })),
    );
  }

  /** The handle a service gets of its host (the same one across restarts). */
  serviceHost(name: string): ServiceHost {
    return this.#entry(name).host;
  }

  /** How many times a service was started (tests check that concurrent first calls start it once). */
  startCount(name: string): number {
    return this.#entry(name).starts;
  }

  /** Starts every eager service (host start). A failing eager service is reported, not fatal. */
  async startEager(): Promise<void> {
    for (const entry of this.#entries.values()) {
      if (entry.definition.contract.lifecycle !== "eager") continue;
      await this.#ensureRunning(entry).catch(() => {/* reported as service-failed; retried on call */});
    }
  }

  /**
   * Calls an operation: `service_not_found` / `operation_not_found` (404), `invalid_request` (422)
   * for a request that fails its schema; a reply that fails its schema is our fault (`internal`).
   */
  async call(
    name: string,
    op: string,
    request: unknown,
    call: ServiceCall = { via: "kernel" },
  ): Promise<unknown> {
    const entry = this.#entry(name);
    const operation = this.operation(name, op);
    const checked = validate(operation.request, request ?? {}, `request of ${name}/${op}`);
    entry.inFlight++;
    this.#clearIdle(entry);
    try {
      const instance = await this.#ensureRunning(entry);
      const handler = (instance.handlers as Record<string, RunningService["handlers"][string]>)[op];
      if (!handler) {
        throw new PagletError("internal", `Service '${name}' declares '${op}' but has no handler for it`);
      }
      const reply = await handler(checked, call);
      const result = operation.reply.safeParse(reply);
      if (!result.success) {
        const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join(
          "; ",
        );
        throw new PagletError("internal", `Service '${name}' gave an invalid reply to '${op}': ${issues}`);
      }
      return result.data;
    } finally {
      entry.inFlight--;
      this.#scheduleIdle(entry);
    }
  }

  /** The declared operation `op` of `name`; `service_not_found` / `operation_not_found` otherwise. */
  operation(name: string, op: string): AnyOperation {
    const operations = this.#entry(name).definition.contract.operations;
    if (!Object.hasOwn(operations, op)) {
      const known = Object.keys(operations).join(", ");
      throw new PagletError(
        "operation_not_found",
        `Service '${name}' has no operation '${op}' (it has: ${known})`,
      );
    }
    return operations[op];
  }

  /** Stops one running service now (it stays registered). */
  async stop(name: string, why: ServiceStopReason = "stop"): Promise<void> {
    await this.#stop(this.#entry(name), why);
  }

  /** Stops everything (host stop); later calls fail with `draining`. */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()].reverse();
    for (const entry of entries) {
      this.#clearIdle(entry);
      await this.#stop(entry, "host-stop").catch(() => {});
    }
  }

  #entry(name: string): Entry {
    const entry = this.#entries.get(name);
    if (!entry) {
      const known = [...this.#entries.keys()].join(", ") || "none";
      throw new PagletError(
        "service_not_found",
        `No resident service '${name}' on this host (services: ${known})`,
      );
    }
    return entry;
  }

  #describe(entry: Entry): ServiceDescription {
    const c = entry.definition.contract;
    return {
      name: c.name,
      version: c.version,
      description: c.description,
      scope: c.scope,
      lifecycle: c.lifecycle,
      running: entry.phase === "running",
      operations: Object.keys(c.operations),
    };
  }

  async #ensureRunning(entry: Entry): Promise<RunningService> {
    // Loop: a stop may be under way when the call arrives; wait for it, then start again.
    while (true) {
      if (this.#closed) throw new PagletError("draining", "The host is shutting down its services");
      if (entry.phase === "running" && entry.instance) return entry.instance;
      if (entry.stopping) {
        await entry.stopping;
        continue;
      }
      // Concurrent first calls share one start, and all see its failure.
      entry.starting ??= this.#start(entry).finally(() => entry.starting = undefined);
      return await entry.starting;
    }
  }

  async #start(entry: Entry): Promise<RunningService> {
    const { name, lifecycle } = entry.definition.contract;
    entry.phase = "starting";
    entry.starts++;
    try {
      const instance = await entry.definition.start(entry.host);
      entry.instance = instance;
      entry.phase = "running";
      this.#events.emit("service-start", { data: { service: name, lifecycle } });
      this.#scheduleIdle(entry);
      return instance;
    } catch (err) {
      entry.phase = "stopped";
      entry.instance = undefined;
      const message = `Service '${name}' failed to start: ${
        err instanceof Error ? err.message : String(err)
      }`;
      this.#events.emit("service-failed", { data: { service: name, during: "start" }, error: message });
      throw new PagletError("internal", message);
    }
  }

  async #stop(entry: Entry, why: ServiceStopReason): Promise<void> {
    await entry.starting?.catch(() => {});
    await entry.stopping;
    if (entry.phase !== "running" || !entry.instance) return;
    const instance = entry.instance;
    const name = entry.definition.contract.name;
    entry.phase = "stopping";
    entry.stopping = (async () => {
      try {
        await instance.stop?.(why);
      } catch (err) {
        this.#events.emit("service-failed", { data: { service: name, during: "stop" }, error: String(err) });
      } finally {
        entry.instance = undefined;
        entry.phase = "stopped";
        entry.stopping = undefined;
        this.#events.emit("service-stop", { data: { service: name, reason: why } });
      }
    })();
    await entry.stopping;
  }

  #idleTimeout(entry: Entry): number {
    return this.#options.idleTimeoutMs ?? entry.definition.contract.idleTimeoutMs;
  }

  #clearIdle(entry: Entry): void {
    cancel(entry.idleTimer);
    entry.idleTimer = undefined;
  }

  #scheduleIdle(entry: Entry): void {
    if (this.#closed || entry.definition.contract.lifecycle !== "lazy" || entry.inFlight > 0) return;
    this.#clearIdle(entry);
    // An idle timer alone must not keep a process (or a test) alive.
    entry.idleTimer = later(this.#idleTimeout(entry), () => {
      entry.idleTimer = undefined;
      if (entry.inFlight > 0 || entry.phase !== "running") return;
      let busy = false;
      try {
        busy = entry.instance?.busy?.() ?? false;
      } catch {
        busy = false;
      }
      if (busy) return this.#scheduleIdle(entry);
      void this.#stop(entry, "idle").catch(() => {});
    }, { ref: false });
  }
}

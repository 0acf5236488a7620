/**
 * What a resident service sees of its host: the {@link ServiceHost} handle passed to
 * `ServiceDefinition.start`. One handle per service per host; it outlives lazy stops and restarts
 * of the service (so {@link ServiceHost.keep} can hold data that must survive them).
 *
 * @module
 */
import type { HostInfo, MeshHost } from "../agents/context.ts";
import { PagletError } from "../agents/errors.ts";
import type { EventLog } from "../host/kernel/events.ts";
import type { Host } from "../host/host.ts";
import { normalizeUrl } from "../host/client.ts";
import type { RemoteRouter } from "../host/kernel/remote.ts";
import { readResources, type Resources } from "../host/resources.ts";
import type { AgentStore } from "../host/storage/agent_store.ts";
import { withTimeout } from "../host/kernel/timeouts.ts";
import { ServiceClient } from "./client.ts";
import type { ServiceCall } from "./contract.ts";
import type { ServiceRegistry } from "./registry.ts";

/** Agents on a host by status. */
export interface AgentCounts {
  active: number;
  inactive: number;
}

/** Options of {@link ServiceHost.call}. */
export interface ServiceCallAtOptions {
  /** Host name or URL; default this host. */
  host?: string;
  /** @default 30000 */
  timeoutMs?: number;
}

/**
 * The host as a resident service sees it. This is the whole interface a service such as
 * `compute-slots` needs to implement against:
 *
 * - identity and places: {@link info}, {@link dataDir}, {@link workPath};
 * - readings: {@link resources} (load, memory, disk of the data dir), {@link agentCounts};
 * - the mesh: {@link remote} (undefined on a host without mesh), {@link onlineHosts},
 *   {@link resolveHost}, {@link isSelf};
 * - other services, here or elsewhere: {@link call}, {@link client};
 * - {@link events} to emit host events (they reach `/v1/events` and its SSE stream);
 * - {@link store} (agent records) and {@link kernel} for what the handle does not cover (the
 *   worker pool, the agent runtime). Prefer the handle: the kernel's shape may change.
 */
export interface ServiceHost {
  /** The service this handle belongs to. */
  readonly service: string;
  /** Name, URL, mesh version, tags, properties, CPU count. */
  readonly info: HostInfo;
  readonly dataDir: string;
  /** The folder paglets' scratch dirs live in (the "work" volume of mesh-info). */
  readonly workPath: string;
  readonly events: EventLog;
  readonly store: AgentStore;
  /** The mesh router; read it at call time (the mesh extension may set it after services start). */
  readonly remote: RemoteRouter | undefined;
  /** The kernel itself. */
  readonly kernel: Host;
  /** The API key this host uses for its own HTTP calls to peers. */
  readonly apiKey: string | null;
  /** Load, memory and disk (of the data dir) right now. */
  resources(): Promise<Resources>;
  agentCounts(): Promise<AgentCounts>;
  /** Online hosts of the mesh including this one; just this one without a mesh. */
  onlineHosts(): Promise<MeshHost[]>;
  /** Base URL of a host name or URL; null for an unknown name. */
  resolveHost(nameOrUrl: string): string | null;
  /** Is this name or URL this host? */
  isSelf(nameOrUrl: string): boolean;
  /** A service client for another host, with this host's API key. */
  client(url: string, timeoutMs?: number): ServiceClient;
  /** Calls a service operation on this host (lazy start, validation) or on another one (HTTP). */
  call(service: string, op: string, request?: unknown, options?: ServiceCallAtOptions): Promise<unknown>;
  /**
   * Host-lifetime memory of this service: `create()` runs once per host; later calls, also after
   * a lazy stop and restart, get the same value.
   */
  keep<T>(key: string, create: () => T): T;
}

/** The handle of `service` on `kernel`. */
export function createServiceHost(kernel: Host, registry: ServiceRegistry, service: string): ServiceHost {
  const kept = new Map<string, unknown>();
  const handle: ServiceHost = {
    service,
    get info() {
      return kernel.info;
    },
    get dataDir() {
      return kernel.options.dataDir;
    },
    get workPath() {
      return kernel.workDirs.root;
    },
    events: kernel.events,
    get store() {
      return kernel.store;
    },
    get remote() {
      return kernel.remote;
    },
    kernel,
    get apiKey() {
      return kernel.options.apiKey;
    },
    resources: () => readResources(kernel.options.dataDir),
    agentCounts: async () => {
      const counts = await kernel.store.countByStatus();
      return { active: kernel.runtime.live.size, inactive: counts.inactive ?? 0 };
    },
    onlineHosts: () => onlineHosts(kernel),
    resolveHost: (nameOrUrl) => resolveHostUrl(kernel, nameOrUrl),
    isSelf: (nameOrUrl) => isSelf(kernel, nameOrUrl),
    client: (url, timeoutMs) => ServiceClient.connect(url, { apiKey: kernel.options.apiKey, timeoutMs }),
    call: (svc, op, request, options) =>
      callServiceAt(kernel, registry, svc, op, request, options, { via: "kernel" }),
    keep<T>(key: string, create: () => T): T {
      if (!kept.has(key)) kept.set(key, create());
      return kept.get(key) as T;
    },
  };
  return handle;
}

/** Is this name or URL the kernel itself? */
export function isSelf(kernel: Host, nameOrUrl: string): boolean {
  if (nameOrUrl === kernel.info.name) return true;
  try {
    return normalizeUrl(nameOrUrl) === kernel.info.url;
  } catch {
    return false;
  }
}

/** A host name or URL → base URL: mesh resolution first, then anything that looks like a URL. */
export function resolveHostUrl(kernel: Host, nameOrUrl: string): string | null {
  if (isSelf(kernel, nameOrUrl)) return kernel.info.url;
  const resolved = kernel.remote?.resolve(nameOrUrl);
  if (resolved) return normalizeUrl(resolved);
  if (/^[a-z]+:\/\//i.test(nameOrUrl) || /^[^/\s]+:\d+$/.test(nameOrUrl)) return normalizeUrl(nameOrUrl);
  return null;
}

/** Online mesh hosts including this one. */
export async function onlineHosts(kernel: Host): Promise<MeshHost[]> {
  const self: MeshHost = { ...kernel.info, online: true, lastSeen: Date.now() };
  if (!kernel.remote) return [self];
  const hosts = (await kernel.remote.hosts({ onlineOnly: true })).filter((h) => h.online);
  return hosts.some((h) => h.url === kernel.info.url) ? hosts : [self, ...hosts];
}

/**
 * Calls `service/op` on a host: locally through the registry (lazy start, validation), elsewhere
 * through `POST /v1/services/:name/:op` with this host's API key.
 */
export async function callServiceAt(
  kernel: Host,
  registry: ServiceRegistry,
  service: string,
  op: string,
  request: unknown,
  options: ServiceCallAtOptions = {},
  call: ServiceCall,
): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new PagletError("invalid_request", `timeoutMs must be positive: current value is ${timeoutMs}`);
  }
  const target = options.host;
  if (!target || isSelf(kernel, target)) {
    return await withTimeout(
      registry.call(service, op, request, call),
      timeoutMs,
      `${service}/${op} on ${kernel.info.name} did not answer within ${timeoutMs} ms`,
    );
  }
  const url = resolveHostUrl(kernel, target);
  if (!url) {
    throw new PagletError("not_found", `No mesh host named '${target}' is known to ${kernel.info.name}`);
  }
  return await ServiceClient.connect(url, { apiKey: kernel.options.apiKey, timeoutMs }).callRaw(
    service,
    op,
    request,
  );
}

/** Host options, validated once at start. */
import { homeDir, join } from "../agents/paths.ts";
import { PagletError } from "../agents/errors.ts";
import { millisecondsFromEnv } from "./env_ms.ts";
import { maxConnectionsForFileLimit } from "./http/frontend.ts";
import { defaultWorkerCount } from "./worker/early_workers.ts";
import {
  checkLength,
  checkTagCount,
  HOST_NAME_PATTERN,
  publishedUrl,
  RECORD_LIMITS,
} from "./mesh/record_limits.ts";

export interface HostOptions {
  /** Host name, unique in the mesh. */
  name: string;
  /** TCP port; 0 = any free port. @default 8765 */
  port: number;
  /** Address to bind. @default "127.0.0.1" */
  bind: string;
  /** URL other hosts and clients use; default http://<bind>:<port>. */
  publicUrl?: string;
  /** Where the database, storage and scratch dirs live. */
  dataDir: string;
  /** Hosts only mesh with the same version. @default "dev" */
  meshVersion: string;
  tags: string[];
  properties: Record<string, string>;
  /** Bearer API key; null = open (only sensible on loopback). */
  apiKey: string | null;
  /** Quota of per-type persistent storage in bytes; null = unlimited. @default 10 MiB */
  persistentStorageQuota: number | null;
  /** Largest JSON body accepted on the control API. @default 16 MiB */
  maxBodyBytes: number;
  /** Agent workers at most, started as agents need them (WorkerPool.pick); default one per CPU (at least 2). */
  workers: number;
  /** Extra paglet type modules loaded into every worker. */
  modules: string[];
  /** Accept travelling code (scripts' paglet types) from clients and other hosts. @default true */
  remoteCode: boolean;
  /** Seed peers to join (mesh). */
  peers: string[];
  /** Milliseconds between mesh gossip rounds. @default 1000 */
  gossipIntervalMs: number;
  /** A peer whose heartbeat stops for this long is offline (raised automatically for big meshes). @default 5000 */
  offlineAfterMs: number;
  /** Largest artifact (and registered file in a transfer) in bytes; null = unlimited. @default 1 GiB */
  artifactMaxSize: number | null;
  /** Bytes all hosted artifacts may use together; null = unlimited. @default 10 GiB */
  artifactStorageQuota: number | null;
  /** Seconds after which stale upload spools (and expired artifacts) are deleted. @default 86400 */
  artifactSpoolTtlS: number;
  /**
   * Seconds a host remembers where a departed agent went: its forwarding record (messages sent here
   * follow it) and the transfer's ledger row. At most 100,000 forwarding records are kept. @default 604800
   */
  forwardingRetentionS: number;
  /**
   * Seconds a stored module of travelling code that no agent of this host names is kept after its
   * last use (host/code/code_sweep.ts); at least 600. @default 604800
   */
  codeRetentionS: number;
  /** Connections served at once; one more is refused with 503. @default from the file limit, at most 1000 */
  maxConnections: number;
  /** Time a new connection has to send its first request head. @default 10000 */
  headerTimeoutMs: number;
  /** Time a connection with nothing in progress stays open. @default 60000 */
  idleTimeoutMs: number;
  /** Largest first request head on a connection (431 past it). @default 32768 */
  maxHeaderBytes: number;
  /**
   * How often an idle event stream gets a keepalive: it keeps proxies from cutting the stream, and a
   * client that hears nothing for three of them knows the stream is lost (the answer's
   * `x-paglets-keepalive-ms` header says the interval). @default `PAGLETS_SSE_KEEPALIVE_MS`, else 15000
   */
  sseKeepaliveMs: number;
  /**
   * How often the host samples its load and memory for the dashboard's charts; at least 50.
   * @default `PAGLETS_HOST_SAMPLE_MS`, else 5000
   */
  hostSampleMs: number;
  /** Print nothing (embedded hosts). */
  quiet: boolean;
}

export function defaultDataDir(name: string): string {
  const base = Deno.env.get("PAGLETS_HOME") ?? Deno.env.get("XDG_DATA_HOME") ??
    join(homeDir(), ".local", "share");
  const root = Deno.env.get("PAGLETS_HOME") ? base : join(base, "paglets");
  return join(root, "hosts", name.replace(/[^A-Za-z0-9._-]/g, "_"));
}

export function resolveOptions(partial: Partial<HostOptions> & { name?: string }): HostOptions {
  const name = partial.name ?? Deno.hostname();
  if (!HOST_NAME_PATTERN.test(name)) {
    throw invalidOption(
      `Host name must be letters, digits, '.', '_' or '-' (max 63): current value is '${name}'`,
    );
  }
  const port = partial.port ?? 8765;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidOption(`Port must be an integer 0..65535: current value is ${port}`);
  }
  const bind = partial.bind ?? "127.0.0.1";
  if (!isBindAddress(bind)) {
    throw invalidOption(`Bind address must be an IP address or a host name: current value is '${bind}'`);
  }
  return {
    name,
    port,
    bind,
    dataDir: partial.dataDir ?? defaultDataDir(name),
    ...meshRecord(partial),
    apiKey: partial.apiKey ?? null,
    persistentStorageQuota: partial.persistentStorageQuota === undefined
      ? 10 * 1024 * 1024
      : partial.persistentStorageQuota,
    maxBodyBytes: partial.maxBodyBytes ?? 16 * 1024 * 1024,
    workers: partial.workers ?? defaultWorkerCount(),
    modules: partial.modules ?? [],
    remoteCode: partial.remoteCode ?? true,
    peers: partial.peers ?? [],
    ...meshTiming(partial),
    ...artifactLimits(partial),
    ...connectionLimits(partial),
    ...intervals(partial),
    forwardingRetentionS: positiveSeconds("forwardingRetentionS", partial.forwardingRetentionS ?? 604_800),
    codeRetentionS: codeRetention(partial.codeRetentionS ?? 604_800),
    quiet: partial.quiet ?? false,
  };
}

/**
 * What the host publishes in its mesh record, held to the limits the mesh's gossip schema holds
 * records to (host/mesh/record_limits.ts): a host past them would never join, silently.
 */
function meshRecord(
  partial: Partial<HostOptions>,
): Pick<HostOptions, "publicUrl" | "meshVersion" | "tags" | "properties"> {
  let publicUrl = partial.publicUrl;
  if (publicUrl !== undefined) {
    publicUrl = publishedUrl(publicUrl) ?? undefined;
    if (publicUrl === undefined) {
      throw invalidOption(
        `Public URL must be an http(s) URL such as http://10.0.0.5:8765: current value is '${partial.publicUrl}'`,
      );
    }
    checkLength("'publicUrl'", publicUrl, RECORD_LIMITS.url);
  }
  const meshVersion = partial.meshVersion ?? Deno.env.get("PAGLETS_MESH_VERSION") ?? "dev";
  if (meshVersion === "") throw invalidOption("'meshVersion' must not be empty");
  checkLength("'meshVersion'", meshVersion, RECORD_LIMITS.meshVersion);
  const tags = [...new Set((partial.tags ?? []).map((t) => t.trim().toLowerCase()).filter(Boolean))].sort();
  checkTagCount("'tags'", tags.length);
  for (const tag of tags) {
    if (!isTag(tag)) {
      throw invalidOption(`Tag must be a word like 'linux' or 'gpu': current value is '${tag}'`);
    }
    checkLength("A tag", tag, RECORD_LIMITS.tag);
  }
  const properties = partial.properties ?? {};
  for (const [key, value] of Object.entries(properties)) {
    checkLength("A property's key", key, RECORD_LIMITS.propertyKey);
    checkLength(`Property '${key}'`, value, RECORD_LIMITS.propertyValue);
  }
  return { publicUrl, meshVersion, tags, properties };
}

function connectionLimits(
  partial: Partial<HostOptions>,
): Pick<HostOptions, "maxConnections" | "headerTimeoutMs" | "idleTimeoutMs" | "maxHeaderBytes"> {
  const ceiling = maxConnectionsForFileLimit();
  if (partial.maxConnections !== undefined && partial.maxConnections > ceiling) {
    console.error(
      `paglets: --max-connections ${partial.maxConnections} is more than this process's file limit allows; ` +
        `serving at most ${ceiling} connections (raise the limit with \`ulimit -n\` for more)`,
    );
  }
  const limits = {
    maxConnections: Math.min(partial.maxConnections ?? ceiling, ceiling),
    headerTimeoutMs: partial.headerTimeoutMs ?? 10_000,
    idleTimeoutMs: partial.idleTimeoutMs ?? 60_000,
    maxHeaderBytes: partial.maxHeaderBytes ?? 32 * 1024,
  };
  for (const [what, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw invalidOption(`'${what}' must be a positive integer: current value is ${value}`);
    }
  }
  return limits;
}

/** Intervals an operator sets in the host's environment; a program embedding a host passes them. */
function intervals(partial: Partial<HostOptions>): Pick<HostOptions, "sseKeepaliveMs" | "hostSampleMs"> {
  return {
    sseKeepaliveMs: interval("sseKeepaliveMs", partial.sseKeepaliveMs, "PAGLETS_SSE_KEEPALIVE_MS", 15_000, 1),
    hostSampleMs: interval("hostSampleMs", partial.hostSampleMs, "PAGLETS_HOST_SAMPLE_MS", 5000, 50),
  };
}

/** `value`, else `variable` from the environment, else `fallback`; held to `min`, naming where it came from. */
function interval(
  option: string,
  value: number | undefined,
  variable: string,
  fallback: number,
  min: number,
) {
  const ms = value ?? millisecondsFromEnv(variable, fallback);
  if (!Number.isSafeInteger(ms) || ms < min) {
    const what = value === undefined ? variable : `'${option}'`;
    throw invalidOption(`${what} must be a whole number of at least ${min} ms: current value is ${ms}`);
  }
  return ms;
}

function positiveSeconds(what: string, value: number): number {
  if (!Number.isFinite(value) || value < 1) {
    throw invalidOption(`'${what}' must be at least 1 second: current value is ${value}`);
  }
  return value;
}

/** The shortest code retention: longer than a create or an arrival takes from naming its module to writing its record. */
export const MIN_CODE_RETENTION_S = 600;

function codeRetention(value: number): number {
  if (!Number.isFinite(value) || value < MIN_CODE_RETENTION_S) {
    throw invalidOption(
      `'codeRetentionS' must be at least ${MIN_CODE_RETENTION_S} seconds: current value is ${value}`,
    );
  }
  return value;
}

function artifactLimits(
  partial: Partial<HostOptions>,
): Pick<HostOptions, "artifactMaxSize" | "artifactStorageQuota" | "artifactSpoolTtlS"> {
  const artifactMaxSize = partial.artifactMaxSize === undefined ? 1024 ** 3 : partial.artifactMaxSize;
  const artifactStorageQuota = partial.artifactStorageQuota === undefined
    ? 10 * 1024 ** 3
    : partial.artifactStorageQuota;
  const artifactSpoolTtlS = partial.artifactSpoolTtlS ?? 86_400;
  const sizes = [
    ["Artifact max size", artifactMaxSize],
    ["Artifact storage quota", artifactStorageQuota],
  ] as const;
  for (const [what, value] of sizes) {
    if (value !== null && (!Number.isSafeInteger(value) || value < 0)) {
      throw invalidOption(
        `${what} must be a non-negative integer of bytes or null: current value is ${value}`,
      );
    }
  }
  if (!Number.isFinite(artifactSpoolTtlS) || artifactSpoolTtlS < 1) {
    throw invalidOption(
      `Artifact spool TTL must be at least 1 second: current value is ${artifactSpoolTtlS}`,
    );
  }
  return { artifactMaxSize, artifactStorageQuota, artifactSpoolTtlS };
}

function meshTiming(partial: Partial<HostOptions>): { gossipIntervalMs: number; offlineAfterMs: number } {
  const gossipIntervalMs = partial.gossipIntervalMs ?? 1000;
  if (!Number.isFinite(gossipIntervalMs) || gossipIntervalMs < 20 || gossipIntervalMs > 600_000) {
    throw invalidOption(`Gossip interval must be 20..600000 ms: current value is ${gossipIntervalMs}`);
  }
  const offlineAfterMs = partial.offlineAfterMs ?? Math.max(5000, 3 * gossipIntervalMs);
  if (!Number.isFinite(offlineAfterMs) || offlineAfterMs < 2 * gossipIntervalMs) {
    throw invalidOption(
      `Offline-after must be at least two gossip intervals (${
        2 * gossipIntervalMs
      } ms): current value is ${offlineAfterMs}`,
    );
  }
  return { gossipIntervalMs, offlineAfterMs };
}

/**
 * Whether `address` can be listened on by its form: an IPv4 address (four numbers 0..255), an IPv6
 * address, or a host name (letters, digits, '-' in dot-separated labels, not all digits and dots).
 */
export function isBindAddress(address: string): boolean {
  if (/^[\d.]+$/.test(address)) {
    const parts = address.split(".");
    return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
  }
  if (address.includes(":")) {
    try {
      return new URL(`http://[${address}]`).hostname !== "";
    } catch {
      return false;
    }
  }
  const label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
  return address.length <= 253 && new RegExp(`^${label}(?:\\.${label})*\\.?$`).test(address);
}

/** A host tag: a word like `linux` or `gpu` (lower case; digits, `.`, `_` and `-` inside). */
export function isTag(tag: string): boolean {
  return /^[a-z0-9][a-z0-9._-]*$/.test(tag);
}

/** Whether `url` is an absolute `http:` or `https:` URL with a host (a host's public URL). */
export function isHttpUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "";
  } catch {
    return false;
  }
}

/** Parses sizes like `512M`, `1G`, `10MB`, `none` (binary units). */
export function parseSize(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === "none" || t === "unlimited") return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/.exec(t);
  if (!m) throw invalidOption(`Size must look like 512K, 10M, 1G or 'none': current value is '${text}'`);
  const mult =
    { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2] as "" | "k" | "m" | "g" | "t"];
  return Math.round(Number(m[1]) * mult);
}

/** A host option with a value it cannot take: the user's input, so `invalid_request` (CLI exit 2). */
function invalidOption(message: string): PagletError {
  return new PagletError("invalid_request", message);
}

/**
 * Which host a command talks to: `--entry NAME|URL`, else PAGLETS_ENTRY, else
 * http://127.0.0.1:8765. Only the main jobs (`paglets run`, `paglets examples …`, the tour) start an
 * embedded host when nothing answers there and no entry was named, so a new user sees results at
 * once; every other command fails and says how to name a host.
 */
import { PagletError } from "../agents/errors.ts";
import { HostClient, normalizeUrl } from "../host/client.ts";
import type { Host } from "../host/host.ts";
import { endEarlyWorkers } from "../host/worker/early_workers.ts";
import { EMBEDDED_WORKERS } from "./early_start.ts";
import { loadHostCode } from "./host_code.ts";
import { timeoutMs } from "./number_option.ts";
import { whileRunning } from "./signals.ts";
import { EMBEDDED_PREFIX, sweepEmbeddedLeftovers } from "./embedded_leftovers.ts";

export const DEFAULT_ENTRY = "http://127.0.0.1:8765";

/** How a command starts its embedded host. */
export interface EmbeddingOptions {
  /** Say nothing on stderr about the embedded host. */
  quiet?: boolean;
  /**
   * The host's code may come from its bundle (cli/host_code.ts): only for a command whose modules
   * scripts/host_bundle.ts leaves outside the bundle (`examples pi`); others load the source.
   */
  hostBundle?: boolean;
  /**
   * The embedded host's code loads once this has settled: a command that imports modules of its own
   * meanwhile (`paglets run`) hands them here, so that no two imports sharing a module graph are
   * in flight at once (cli/run_modules.ts says why).
   */
  loadAfter?: Promise<unknown>;
  /**
   * What the command cannot go on without (`paglets run`: its script's bundle): an embedded host
   * starts only once it has resolved, and its failure ends the command before a host is started.
   */
  startAfter?: Promise<unknown>;
}

export interface EntryOptions {
  entry?: string;
  apiKeyEnv?: string;
  timeout?: number;
}

export function apiKeyFrom(options: EntryOptions): string | null {
  const name = options.apiKeyEnv ?? "PAGLETS_API_KEY";
  const key = Deno.env.get(name);
  if (options.apiKeyEnv && !key) {
    throw new PagletError(
      "invalid_request",
      `--api-key-env names ${name}, but that variable is empty or not set`,
    );
  }
  return key ?? null;
}

/**
 * The entry host's URL: `--entry` (which must not be empty), else PAGLETS_ENTRY (empty: not set),
 * else the default. A value that is no host URL fails here, before any request.
 */
function entryUrl(options: EntryOptions): { url: string; explicit: boolean } {
  if (options.entry !== undefined) return { url: checkedEntry(options.entry, "--entry"), explicit: true };
  const variable = Deno.env.get("PAGLETS_ENTRY");
  return variable
    ? { url: checkedEntry(variable, "PAGLETS_ENTRY"), explicit: true }
    : { url: DEFAULT_ENTRY, explicit: false };
}

/**
 * `value` of `--entry` or PAGLETS_ENTRY (`source`) as a host URL: a host name or `host:port`
 * (`http://` is added) or an `http:`/`https:` URL with a host and a valid port. Anything else is
 * the user's mistake (`invalid_request`), said before any name lookup or request.
 */
function checkedEntry(value: string, source: string): string {
  const invalid = () =>
    new PagletError(
      "invalid_request",
      `${source} must be a host name, host:port or an http(s) URL such as http://127.0.0.1:8765: got '${value}'`,
    );
  const text = value.trim();
  // A scheme without `//` (`http:`, `http:/host`): not `host:port` either.
  if (text === "" || /^[a-z][a-z0-9+.-]*:(?!\/\/|\d)/i.test(text)) throw invalid();
  const url = normalizeUrl(text);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid();
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.hostname === "") {
    throw invalid();
  }
  return url;
}

/** A bare word (no scheme, port or path): maybe the name of a host in the mesh. */
function isBareName(entry: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(entry);
}

/**
 * `--entry NAME`: the URL of the mesh host called NAME, as the default entry host
 * ($PAGLETS_ENTRY, else http://127.0.0.1:8765) lists it. A name no mesh host has (or with no host
 * answering there) is a network host name: `http://NAME`.
 */
export async function resolveEntryName(entry: string, options: EntryOptions): Promise<string> {
  if (!isBareName(entry)) return checkedEntry(entry, "--entry");
  const fallback = Deno.env.get("PAGLETS_ENTRY");
  const via = fallback && checkedEntry(fallback, "PAGLETS_ENTRY") !== normalizeUrl(entry)
    ? checkedEntry(fallback, "PAGLETS_ENTRY")
    : DEFAULT_ENTRY;
  try {
    const client = new HostClient(via, { apiKey: apiKeyFrom(options), timeoutMs: 2000, oneShot: true });
    const { hosts } = await client.request<{ hosts: { name: string; url: string }[] }>(
      "GET",
      "/v1/mesh/hosts",
    );
    return hosts.find((h) => h.name === entry)?.url ?? entry;
  } catch {
    return entry;
  }
}

/** What a user can do when the entry host does not answer. */
const UNREACHABLE_HINT =
  "start a host with `paglets host`, or name a running one with --entry NAME|URL or the PAGLETS_ENTRY variable";

/** A client for the entry host (no reachability check). */
export function entryClient(options: EntryOptions): HostClient {
  return new HostClient(entryUrl(options).url, {
    apiKey: apiKeyFrom(options),
    timeoutMs: timeoutMs(options.timeout),
    unreachableHint: UNREACHABLE_HINT,
    oneShot: true,
  });
}

/**
 * `fn` with a client for the entry host; a host that does not answer fails the command with a
 * `host_unreachable` that says what to do. Never starts a host (see {@link withEntryOrEmbedded}).
 */
export async function withEntry<T>(
  options: EntryOptions,
  fn: (client: HostClient) => Promise<T>,
): Promise<T> {
  endEarlyWorkers();
  return await fn(entryClient(options));
}

/**
 * For the main jobs only: a client for a reachable entry host; if none answers and none was named,
 * starts an embedded host for the duration of `fn` (and says so on stderr unless `quiet`).
 */
export async function withEntryOrEmbedded<T>(
  options: EntryOptions & EmbeddingOptions,
  fn: (client: HostClient, embedded: Host | null) => Promise<T>,
): Promise<T> {
  const { url, explicit } = entryUrl(options);
  const client = entryClient(options);
  if (!explicit && await nothingListens(url)) return await withEmbeddedHost(url, options, fn);
  try {
    await client.health();
  } catch (err) {
    if (!(err instanceof PagletError && err.code === "host_unreachable") || explicit) {
      endEarlyWorkers();
      throw err;
    }
    return await withEmbeddedHost(url, options, fn);
  }
  endEarlyWorkers();
  return await fn(client, null);
}

/**
 * Whether a connection to the default entry is refused: nothing listens there, so no HTTP request
 * needs to say so. The first fetch of a process costs ~30–60 ms (Deno sets up its HTTP client) where
 * a refused connection costs ~2 ms, on the path of every command that then starts an embedded host.
 * Anything else (it connects, or fails otherwise) leaves the answer to the health request.
 */
async function nothingListens(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  try {
    (await Deno.connect({ hostname, port: Number(port) })).close();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused;
  }
}

/**
 * Runs `fn` against a host started for it (one agent worker: it runs one command's paglets), and
 * stops the host afterwards.
 */
async function withEmbeddedHost<T>(
  url: string,
  options: EmbeddingOptions,
  fn: (client: HostClient, embedded: Host | null) => Promise<T>,
): Promise<T> {
  await options.loadAfter?.catch(() => {/* its owner reports it */});
  try {
    await options.startAfter;
  } catch (err) {
    endEarlyWorkers();
    throw err;
  }
  const { Host, extensionsForHost } = await loadHostCode(options.hostBundle ?? false);
  const dataDir = await Deno.makeTempDir({ prefix: EMBEDDED_PREFIX });
  // Folders of embedded hosts a SIGKILL left behind, cleared while this one starts.
  const swept = sweepEmbeddedLeftovers(dataDir);
  if (!options.quiet) {
    console.error(`No host answers at ${url}; starting an embedded host (data in ${dataDir}).`);
  }
  // The host stops and its data goes, also on Ctrl-C or SIGTERM (signals.ts).
  let host: Host | null = null;
  let stopped: Promise<void> | null = null;
  const stop = () =>
    stopped ??= (async () => {
      await host?.stop({ discardData: true });
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    })();
  const unregister = whileRunning({
    end: stop,
    now: () => {
      try {
        Deno.removeSync(dataDir, { recursive: true });
      } catch { /* gone already */ }
    },
  });
  try {
    host = await Host.start(
      { name: "embedded", port: 0, dataDir, quiet: true, workers: EMBEDDED_WORKERS },
      extensionsForHost(),
    );
    const started = host;
    // In-process requests: the same routes, without a loopback connection per call.
    const client = new HostClient(host.url, {
      apiKey: null,
      transport: (request) => started.handle(request),
    });
    return await fn(client, host);
  } finally {
    await stop();
    unregister();
    await swept;
  }
}

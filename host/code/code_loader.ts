/**
 * Gets travelling code into this host's agent workers: from the workers themselves (loaded
 * already), from the host's code store, or once from another host (`GET /v1/code/:hash`, with the
 * host's API key): the one a request names, else the online hosts of the mesh in turn (a restore
 * or a wake-up names none). Fetched bytes are checked against their hash and stored before
 * anything runs them; a stored file that no longer matches its hash is set aside and counts as
 * missing, so a good copy is fetched in its place.
 */
import { pickRandom } from "../../agents/random_pick.ts";
import { PagletError } from "../../agents/errors.ts";
import type { EventLog } from "../kernel/events.ts";
import type { WorkerPool } from "../kernel/worker_pool.ts";
import { dataUrlOf } from "./data_url.ts";
import { concat } from "../../agents/bytes.ts";
import { isCodeHash } from "./hash.ts";
import { isHttpUrl } from "../options.ts";
import { checkHash, type CodeStore } from "./store.ts";
import { cancel, later } from "../../agents/timers.ts";

/** Options of {@link CodeLoader}. */
export interface CodeLoaderOptions {
  store: CodeStore;
  pool: WorkerPool;
  events: EventLog;
  /** Accept code this host does not have from other hosts and clients. @default true */
  remoteCode: boolean;
  /** Sent as a bearer token when fetching from a host of the mesh (the mesh shares one key). */
  apiKey: string | null;
  /** Whether `url` is a host of this host's mesh: only those are sent the key. */
  isMeshHost: (url: string) => Promise<boolean>;
  /** The URLs of the other online hosts of the mesh: asked in turn when no host is named. */
  meshPeers: () => Promise<string[]>;
  /** Per fetch. @default 30000 */
  fetchTimeoutMs?: number;
  /** Largest module fetched, as `PUT /v1/code` takes (the host's `maxBodyBytes`). */
  maxModuleBytes: number;
}

/** A use moves a module's file time once per this at most. */
const TOUCH_EVERY_MS = 3_600_000;
/** A `.part` file older than this is what a crash left of an upload or a fetch. */
const PART_KEPT_MS = 3_600_000;
/** At most this many hosts of the mesh are asked for a module no request named a host for. */
const PEERS_ASKED = 8;
/** How long a host of the mesh asked for a module has to begin its answer. */
const PEER_ANSWER_MS = 5_000;

export class CodeLoader {
  readonly #o: CodeLoaderOptions;
  /** Per hash: the paglet types its module defines, once loaded into every worker. */
  readonly #loading = new Map<string, Promise<string[]>>();
  /** Per hash and source (a host's URL, or `*` for the mesh's hosts): a fetch under way. */
  readonly #fetching = new Map<string, Promise<Fetched>>();
  /** Per hash: when this process last used the module (ms). */
  readonly #usedAt = new Map<string, number>();
  /** Per hash: when its file's time was last moved to a use (ms). */
  readonly #touchedAt = new Map<string, number>();

  constructor(options: CodeLoaderOptions) {
    this.#o = options;
  }

  /** Whether remote code is accepted here. */
  get remoteCode(): boolean {
    return this.#o.remoteCode;
  }

  /**
   * Makes the module `hash` runnable in this host's workers; returns the paglet types it defines.
   * When the store lacks it, `from` (a host URL) is asked, or without one the hosts of the mesh,
   * `alsoAsk` (a host that may be outside the mesh: a waiting arrival's source) first among them.
   */
  ensure(hash: string, from?: string, alsoAsk?: string): Promise<string[]> {
    const refused = this.#refusal(hash);
    if (refused) return Promise.reject(refused);
    this.used(hash);
    const under = this.#loading.get(hash);
    // A load under way from another source (a sweep of the mesh, a host that hangs): its failure
    // is not that of a request naming a host, which then asks that host.
    if (under) {
      return from === undefined && alsoAsk === undefined
        ? under
        : under.catch(() => this.ensure(hash, from, alsoAsk));
    }
    const loading = this.#load(hash, from, alsoAsk);
    this.#loading.set(hash, loading);
    // A failure is not remembered: the next attempt may have a peer that has the code.
    loading.catch(() => this.#loading.delete(hash));
    return loading;
  }

  /**
   * The bytes of module `hash`, from the store or fetched once as {@link ensure} fetches (checked
   * and stored before they are returned), without loading them into the agent workers: what a compute step
   * imports (Runner tasks).
   */
  async source(hash: string, from?: string): Promise<Uint8Array> {
    const refused = this.#refusal(hash);
    if (refused) throw refused;
    this.used(hash);
    return (await this.#stored(hash, from)).source;
  }

  /**
   * Makes sure the store holds a good copy of module `hash` before an agent of it starts here. One
   * that left the store since it was checked (deleted, or damaged and set aside) is fetched and
   * loaded again as at a first use ({@link ensure}): from `from` (the host the agent came from),
   * else from the online hosts of the mesh; `code_unavailable` when none serves it.
   */
  async restock(hash: string, from?: string): Promise<void> {
    const refused = this.#refusal(hash);
    if (refused) throw refused;
    // Read and hashed only when its file changed since the store last did (CodeStore.holds).
    if (await this.#unlessDamaged(hash, () => this.#o.store.holds(hash), false)) return this.used(hash);
    // Loaded while it was stored: what the workers hold is no copy for the next worker or start.
    this.#loading.delete(hash);
    if (from === undefined) return void await this.ensure(hash);
    await this.ensure(hash, from).catch(async (err) => {
      const named = PagletError.from(err);
      await this.ensure(hash).catch((again) => {
        const why = PagletError.from(again);
        throw new PagletError(why.code, `${named.message}; ${why.message}`);
      });
    });
  }

  /**
   * The module's bytes as another host fetches them (`GET /v1/code/:hash`), or null when this host
   * has no good copy (a damaged one is set aside).
   */
  async served(hash: string): Promise<Uint8Array | null> {
    const { bytes } = await this.#read(hash);
    if (bytes) this.used(hash);
    return bytes;
  }

  /**
   * Records a use of module `hash` (a create, an arrival, a wake-up, a compute step's import, a
   * peer's fetch): {@link prune} keeps it for the retention from now on. Its file's time follows
   * (at most once an hour), so the use outlives a restart.
   */
  used(hash: string): void {
    const now = Date.now();
    this.#usedAt.set(hash, now);
    if (now - (this.#touchedAt.get(hash) ?? 0) < TOUCH_EVERY_MS) return;
    this.#touchedAt.set(hash, now);
    this.#o.store.touch(hash).catch(() => {/* not stored yet: storing it sets its time */});
  }

  /**
   * Deletes the stored modules that no agent of this host names (`referenced`: the code hashes of
   * its records, read before the call) and that nothing stored or used within `retentionMs` (a
   * module whose first load failed counts as unused since it was stored), uploads a crash left
   * half-written over an hour ago, and damaged files set aside over `retentionMs` ago. Returns the
   * hashes deleted.
   */
  async prune(referenced: ReadonlySet<string>, retentionMs: number): Promise<string[]> {
    const started = Date.now();
    const cutoff = started - retentionMs;
    const { modules, parts, rejected } = await this.#o.store.scan();
    // Synchronous from here: a use that comes meanwhile waits, and finds the module or not at all.
    const removed: string[] = [];
    for (const { name: hash, mtimeMs } of modules) {
      if (
        referenced.has(hash) || mtimeMs >= cutoff || (this.#usedAt.get(hash) ?? 0) >= cutoff ||
        this.#fetching.has(hash) || !this.#o.store.removeSync(hash)
      ) continue;
      // Loaded in the workers still: the next use loads it again (from a host that has it).
      this.#loading.delete(hash);
      this.#o.pool.forgetCode(hash);
      this.#usedAt.delete(hash);
      this.#touchedAt.delete(hash);
      removed.push(hash);
    }
    for (const part of parts) {
      if (part.mtimeMs < started - PART_KEPT_MS) this.#o.store.removeSync(part.name);
    }
    for (const aside of rejected) {
      if (aside.mtimeMs < cutoff) this.#o.store.removeSync(aside.name);
    }
    return removed;
  }

  #refusal(hash: string): PagletError | undefined {
    if (!isCodeHash(hash)) {
      return new PagletError("invalid_code_hash", `A code hash is 64 lowercase hex digits: got '${hash}'`);
    }
    if (!this.#o.remoteCode) {
      // Also code stored here earlier: this host runs only what it was started with.
      return new PagletError(
        "remote_code_disabled",
        `This host runs no code it was not started with (--no-remote-code); module ${hash} refused`,
      );
    }
    return undefined;
  }

  /**
   * The module's bytes from the store, or null when it has none; a damaged file counts as none
   * (`setAside`: {@link #unlessDamaged}).
   */
  #read(hash: string): Promise<{ bytes: Uint8Array | null; setAside?: true }> {
    return this.#unlessDamaged<{ bytes: Uint8Array | null; setAside?: true }>(
      hash,
      async () => ({ bytes: await this.#o.store.read(hash) }),
      { bytes: null, setAside: true },
    );
  }

  /**
   * What `look` finds of module `hash` in the store, or `damaged` when its file does not match its
   * hash: such a file is reported (`code-rejected`), set aside and never run.
   */
  async #unlessDamaged<T>(hash: string, look: () => Promise<T>, damaged: T): Promise<T> {
    try {
      return await look();
    } catch (err) {
      if (!(err instanceof PagletError && err.code === "code_tampered")) throw err;
      this.#rejected(hash, "store", err);
      await this.#o.store.setAside(hash);
      return damaged;
    }
  }

  /** The module's bytes and the host they were fetched from, if they were (then they are in the store now). */
  async #stored(
    hash: string,
    from: string | undefined,
    alsoAsk?: string,
  ): Promise<{ source: Uint8Array; fetchedFrom?: string }> {
    const { bytes: stored, setAside } = await this.#read(hash);
    if (stored) return { source: stored };
    // One fetch per module and source however many executors or arrivals ask at once; a request
    // that names a host does not wait for a sweep of the mesh under way.
    const key = `${hash} ${from ?? `*${alsoAsk ?? ""}`}`;
    let fetching = this.#fetching.get(key);
    if (!fetching) {
      fetching = (from === undefined ? this.#fetchFromMesh(hash, alsoAsk) : this.#fetch(hash, from)).then(
        async (fetched) => {
          await this.#o.store.put(fetched.bytes, hash);
          return fetched;
        },
      ).finally(() => this.#fetching.delete(key));
      this.#fetching.set(key, fetching);
    }
    try {
      const { bytes, from: fetchedFrom } = await fetching;
      return { source: bytes, fetchedFrom };
    } catch (err) {
      if (!setAside) throw err;
      const why = PagletError.from(err);
      throw new PagletError(
        why.code,
        `${why.message} (this host's copy did not match its hash: set aside as code/${hash}.js.rejected)`,
      );
    }
  }

  async #load(hash: string, from: string | undefined, alsoAsk?: string): Promise<string[]> {
    const started = performance.now();
    const { source, fetchedFrom } = await this.#stored(hash, from, alsoAsk);
    const stored = performance.now();
    // Other workers get the module from the store when an agent of it first starts there: the
    // kernel keeps no module's text (a script's bundle may be megabytes, each version its own).
    const types = await this.#o.pool.loadCode(
      hash,
      dataUrlOf(source),
      () => this.#stored(hash, from).then((again) => dataUrlOf(again.source)),
    ).catch(async (err) => {
      if (PagletError.from(err).code === "module_load_failed") await this.#unused(hash);
      throw err;
    });
    // Where the time of a first use goes (fetch + check + store, then the workers' import).
    this.#o.events.emit("code-loaded", {
      data: {
        hash,
        from: fetchedFrom ?? "store",
        size: source.length,
        types,
        fetchMs: Math.round(stored - started),
        loadMs: Math.round(performance.now() - stored),
      },
    });
    return types;
  }

  /**
   * The module from the first of the mesh's online hosts that serves it: at most
   * {@link PEERS_ASKED}, one after the other, in an order of their own each time (so that tries
   * again reach other hosts of a large mesh), each given {@link PEER_ANSWER_MS} to begin its answer
   * (a host that hangs holds the sweep up that long, not a whole fetch's time); `code_unavailable`
   * when none serves it. `alsoAsk`, a host that may be outside the mesh, is asked first, as they are.
   */
  async #fetchFromMesh(hash: string, alsoAsk?: string): Promise<Fetched> {
    const mesh = pickRandom((await this.#o.meshPeers()).filter((p) => p !== alsoAsk), PEERS_ASKED);
    const peers = alsoAsk === undefined ? mesh : [alsoAsk, ...mesh];
    const failures: string[] = [];
    for (const peer of peers) {
      try {
        return await this.#fetch(hash, peer, PEER_ANSWER_MS);
      } catch (err) {
        failures.push(PagletError.from(err).message);
      }
    }
    throw new PagletError(
      "code_unavailable",
      peers.length === 0
        ? `Module ${hash} is not on this host, no host to fetch it from was named, and no other host of its mesh is online`
        : `Module ${hash} is not on this host nor on the ${mesh.length} online host(s) of its mesh asked${
          alsoAsk === undefined ? "" : ` nor on ${alsoAsk}`
        }: ${failures.join("; ")}`,
    );
  }

  /** The module from host `from`; `answerMs` bounds the wait for the beginning of its answer. */
  async #fetch(hash: string, from: string, answerMs?: number): Promise<Fetched> {
    const base = hostBase(from);
    const url = `${base}/v1/code/${hash}`;
    let bytes: Uint8Array;
    const answered = new AbortController();
    const unanswered = answerMs === undefined ? undefined : later(answerMs, () => {
      answered.abort(new DOMException(`no answer within ${answerMs / 1000} s`, "TimeoutError"));
    });
    try {
      // The key goes to hosts of the mesh only, never to a URL a request merely named.
      const withKey = this.#o.apiKey !== null && await this.#o.isMeshHost(base);
      const response = await fetch(url, {
        headers: withKey ? { authorization: `Bearer ${this.#o.apiKey}` } : {},
        signal: AbortSignal.any([AbortSignal.timeout(this.#o.fetchTimeoutMs ?? 30_000), answered.signal]),
      });
      cancel(unanswered);
      if (!response.ok) {
        // What a host says of its refusal; not what any other server at that URL answered.
        const text = await readAtMost(response, 4096).then((b) => new TextDecoder().decode(b), () => "");
        throw new Error(`${response.status} ${apiMessage(text)}`.trim());
      }
      bytes = await readAtMost(response, this.#o.maxModuleBytes);
    } catch (err) {
      throw new PagletError(
        "code_unavailable",
        `Cannot fetch module ${hash} from ${from}: ${(err as Error).message}`,
      );
    } finally {
      cancel(unanswered);
    }
    try {
      await checkHash(bytes, hash, from);
    } catch (err) {
      this.#rejected(hash, from, err);
      throw err;
    }
    return { bytes, from };
  }

  /**
   * Module `hash` failed its first load here: this host can run nothing of it, so its store and
   * its uses leave it to the next sweep, which deletes it unless an agent of this host names it
   * (then it stays as long as one does). Loaded again later, it is used again.
   */
  async #unused(hash: string): Promise<void> {
    this.#usedAt.delete(hash);
    this.#touchedAt.delete(hash);
    await this.#o.store.age(hash).catch(() => {/* not stored (deleted meanwhile) */});
  }

  #rejected(hash: string, from: string, err: unknown): void {
    if (err instanceof PagletError && err.code === "code_tampered") {
      this.#o.events.emit("code-rejected", { data: { hash, from }, error: err.message });
    }
  }
}

/** A module fetched from another host, and that host. */
interface Fetched {
  bytes: Uint8Array;
  from: string;
}

/**
 * The base URL of the host `from` names: an `http:` or `https:` URL with no query or fragment (the
 * module's path is added to it), else `invalid_request`.
 */
function hostBase(from: string): string {
  if (!isHttpUrl(from) || /[?#]/.test(from)) {
    throw new PagletError(
      "invalid_request",
      `codeFrom must be a host's http: or https: URL, with no query or fragment: got '${from}'`,
    );
  }
  return from.replace(/\/+$/, "");
}

/** The body of `response`, refused past `max` bytes (declared or as it arrives). */
async function readAtMost(response: Response, max: number): Promise<Uint8Array> {
  const tooLarge = () => new Error(`the module is larger than ${max} bytes`);
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of response.body ?? []) {
    size += part.length;
    if (size > max) throw tooLarge(); // leaving the loop cancels the body
    parts.push(part);
  }
  return concat(parts);
}

/** The message of an API error answer, or nothing for any other text. */
function apiMessage(text: string): string {
  try {
    const message = JSON.parse(text)?.error?.message;
    return typeof message === "string" ? message.slice(0, 300) : "";
  } catch {
    return "";
  }
}

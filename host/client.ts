/**
 * HTTP client of the host API, used by the CLI, scripts, tests and other hosts.
 * Errors come back as PagletError with the server's code; an unreachable host is `host_unreachable`.
 *
 * @example
 * ```ts
 * const client = new HostClient("http://127.0.0.1:8765");
 * const { id } = await client.createAgent({ type: "demo.counter" });
 * console.log(await client.send(id, { kind: "increment", args: { by: 2 } }));
 * ```
 */
import { PagletError } from "../agents/errors.ts";
import { answerOf, CBOR_TYPE, stringifyTagged } from "../agents/wire.ts";
// Type-checked only: the module loads by URL at the first binary request.
import type * as Cbor from "../agents/cbor.ts";
import { cancel, later } from "../agents/timers.ts";
import { type PlainAnswer, plainRequest } from "./plain_http.ts";
import { sizedUpload } from "./sized_upload.ts";

export interface ClientOptions {
  /** Bearer API key. @default Deno.env PAGLETS_API_KEY */
  apiKey?: string | null;
  /** Per-request timeout in ms. @default 30000 */
  timeoutMs?: number;
  /**
   * Answers requests without the network: a host in the same process (Host.handle), as for the
   * CLI's embedded host. @default fetch over HTTP
   */
  transport?: (request: Request) => Promise<Response>;
  /** Added to the message of a `host_unreachable` when this client cannot connect (what to do about it). */
  unreachableHint?: string;
  /**
   * A command's client, which makes a few requests and ends: its JSON requests to an `http:` host go
   * over a connection of their own each, without `fetch` (host/plain_http.ts says why). Raw
   * {@link HostClient.fetch} calls (streams) still use `fetch`. @default false
   */
  oneShot?: boolean;
  /**
   * A host's own client to another host: a 401 there means the two hosts hold different API keys,
   * reported as `peer_unauthorized` (502), never passed on as the caller's own `unauthorized`.
   * @default false
   */
  peer?: boolean;
}

/** How one raw request is made. */
export interface FetchInit {
  body?: BodyInit;
  headers?: Record<string, string>;
  /** @default the client's timeoutMs */
  timeoutMs?: number;
  /**
   * The caller's end of the request: for streams that last as long as the caller wants. The
   * timeout then bounds the wait for the answer's head only, unless `signalOnly`.
   */
  signal?: AbortSignal;
  /**
   * The caller's `signal` alone bounds the request, the answer's head included: for an upload whose
   * head comes once the whole body is taken, however long that is, under a watch on silence (a
   * transfer's), not on total time.
   */
  signalOnly?: boolean;
  /**
   * The byte length of a streamed `body` (an artifact upload). Such a body goes to an `http:` host
   * with a `content-length`, over a connection of its own (host/sized_upload.ts says
   * why); through a transport or an HTTP proxy, `fetch` sends it chunked.
   */
  length?: number;
}

export class HostClient {
  readonly baseUrl: string;
  readonly #apiKey: string | null;
  readonly #timeoutMs: number;
  readonly #transport?: (request: Request) => Promise<Response>;
  readonly #unreachableHint: string;
  readonly #plain: boolean;
  /** Requests may go over connections of this process's own: `http:`, no proxy, no transport. */
  #direct: boolean | undefined;
  readonly #peer: boolean;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    this.baseUrl = normalizeUrl(baseUrl);
    this.#apiKey = options.apiKey === undefined ? Deno.env.get("PAGLETS_API_KEY") ?? null : options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#transport = options.transport;
    this.#unreachableHint = options.unreachableHint ? `; ${options.unreachableHint}` : "";
    this.#peer = options.peer ?? false;
    this.#plain = Boolean(options.oneShot) && !options.transport && this.baseUrl.startsWith("http:") &&
      !proxied(this.baseUrl);
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#apiKey ? { authorization: `Bearer ${this.#apiKey}`, ...extra } : extra;
  }

  /**
   * A raw request; throws PagletError for error answers. A host that answers `starting` is asked
   * again (after its Retry-After, within the request's timeout), so a client that reaches a host
   * while it starts waits for it instead of failing; a streamed body cannot be sent twice and is not.
   */
  async fetch(
    method: string,
    path: string,
    init: FetchInit = {},
  ): Promise<Response> {
    const timeoutMs = init.timeoutMs ?? this.#timeoutMs;
    const resendable = !(init.body instanceof ReadableStream);
    // With a caller's signal (a stream it follows, a download it watches), the timeout bounds the
    // wait for the answer's head only: the body goes on as long as the caller's signal allows.
    const head = init.signal && !init.signalOnly ? new AbortController() : null;
    const headTimer = head
      ? later(timeoutMs, () => head.abort(new DOMException("timed out", "TimeoutError")))
      : null;
    const signal = !init.signal
      ? AbortSignal.timeout(timeoutMs)
      : head
      ? AbortSignal.any([init.signal, head.signal])
      : init.signal;
    let res: Response;
    try {
      res = await retryWhileStarting(
        signal,
        resendable,
        () => this.#attempt(method, path, init, signal, timeoutMs),
      );
    } finally {
      cancel(headTimer ?? undefined);
    }
    // A caller's signal also ends a read of the body under way (a stream it follows): Deno 2.9
    // does not always carry a request's abort to a body being read.
    if (!init.signal || !res.body) return res;
    return new Response(res.body.pipeThrough(new TransformStream(), { signal: init.signal }), res);
  }

  async #attempt(
    method: string,
    path: string,
    init: FetchInit,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<Response> {
    let res: Response;
    try {
      const url = this.baseUrl + path;
      const request = { method, body: init.body, headers: this.headers(init.headers), signal };
      if (this.#transport) res = await untilAborted(this.#transport(new Request(url, request)), signal);
      else if (init.body instanceof ReadableStream && init.length !== undefined && this.#isDirect()) {
        res = await sizedUpload(url, { ...request, body: init.body, length: init.length });
      } else res = await fetch(url, request);
    } catch (err) {
      // The caller's own abort is no fault of the host's: the caller gets back the reason it gave.
      if (init.signal?.aborted) throw init.signal.reason;
      // A body that could not be read is no fault of the host's either (sized_upload.ts).
      throw err instanceof PagletError ? err : this.#unanswered(err, method, path, timeoutMs);
    }
    if (!res.ok) throw this.#failure(res.status, await res.text());
    return res;
  }

  #isDirect(): boolean {
    return this.#direct ??= !this.#transport && /^https?:/.test(this.baseUrl) && !proxied(this.baseUrl);
  }

  /**
   * One JSON request of a one-shot client (host/plain_http.ts), asked again while the host starts:
   * the answer's text.
   */
  #plainText(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    timeoutMs = this.#timeoutMs,
  ): Promise<string> {
    const signal = AbortSignal.timeout(timeoutMs);
    return retryWhileStarting(signal, true, async () => {
      let answer: PlainAnswer;
      try {
        answer = await plainRequest(this.baseUrl + path, {
          method,
          body,
          headers: this.headers(headers),
          signal,
        });
      } catch (err) {
        throw this.#unanswered(err, method, path, timeoutMs);
      }
      const text = decoder.decode(answer.body);
      if (answer.status < 200 || answer.status > 299) throw this.#failure(answer.status, text);
      return text;
    });
  }

  /** A request that got no answer: timed out, or the host could not be reached. */
  #unanswered(err: unknown, method: string, path: string, timeoutMs: number): PagletError {
    if ((err as Error).name === "TimeoutError") {
      return new PagletError("timeout", `${method} ${this.baseUrl}${path} timed out after ${timeoutMs} ms`);
    }
    return new PagletError(
      "host_unreachable",
      `Cannot reach ${this.baseUrl}: ${(err as Error).message}${this.#unreachableHint}`,
    );
  }

  /** The error an answer of `status` with body `text` stands for. */
  #failure(status: number, text: string): PagletError {
    let error: PagletError;
    try {
      error = PagletError.fromWire(JSON.parse(text).error);
    } catch {
      error = new PagletError(
        status === 401 ? "unauthorized" : "internal",
        `HTTP ${status}: ${text.slice(0, 200)}`,
      );
    }
    if (error.code === "unauthorized" && this.#peer) {
      return new PagletError(
        "peer_unauthorized",
        `${this.baseUrl} refused this host's API key: the hosts of a mesh share one key (${error.message})`,
      );
    }
    if (error.code === "unauthorized" && !this.#apiKey) {
      error = new PagletError("unauthorized", `${this.baseUrl} needs an API key: set PAGLETS_API_KEY`);
    } else if (error.code === "unauthorized") {
      // Which host refused matters: a command that followed an agent may be talking to another one.
      error = new PagletError(
        "unauthorized",
        `${this.baseUrl} refused the API key (${error.message}): PAGLETS_API_KEY, or the variable ` +
          `--api-key-env names, must hold the key of that host's mesh`,
      );
    }
    return error;
  }

  /** A JSON request with tagged values both ways. */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<T> {
    const json = body === undefined ? undefined : stringifyTagged(body);
    const headers: Record<string, string> = json === undefined ? {} : { "content-type": "application/json" };
    const text = this.#plain
      ? await this.#plainText(method, path, json, headers, timeoutMs)
      : await (await this.fetch(method, path, { body: json, headers, timeoutMs })).text();
    return answerOf<T>(text, `${method} ${this.baseUrl}${path}`);
  }

  health() {
    return this.request<
      { ok: boolean; name: string; version: string; meshVersion: string; url: string; uptimeS: number }
    >("GET", "/v1/health", undefined, 2000);
  }

  hostInfo() {
    return this.request("GET", "/v1/host");
  }

  listAgents(filter: { status?: string; type?: string; limit?: number } = {}) {
    const q = new URLSearchParams(
      Object.entries(filter).filter(([, v]) => v).map(([k, v]) => [k, String(v)]),
    ).toString();
    return this.request<{ agents: Record<string, unknown>[] }>("GET", `/v1/agents${q ? `?${q}` : ""}`);
  }

  createAgent(
    spec: {
      type: string;
      state?: Record<string, unknown>;
      args?: Record<string, unknown>;
      id?: string;
      code?: string;
      codeFrom?: string;
    },
  ) {
    return this.request<{ id: string; type: string; host: string; status: string }>(
      "POST",
      "/v1/agents",
      spec,
    );
  }

  getAgent(id: string) {
    return this.request<Record<string, unknown>>("GET", `/v1/agents/${encodeURIComponent(id)}`);
  }

  /**
   * Sends a message; returns the reply (or the 202 answer for oneway/queued). `binary`: the answer
   * comes as CBOR, in which bytes stay bytes (no text or base64 on the way: for large replies such
   * as a drain of a million Pi digits) and bigints stay binary.
   */
  async send(
    id: string,
    message: { kind: string; args?: Record<string, unknown>; priority?: number },
    options: { oneway?: boolean; noDelay?: boolean; timeoutMs?: number; binary?: boolean } = {},
  ): Promise<unknown> {
    const { binary, ...delivery } = options;
    const timeoutMs = delivery.timeoutMs ?? this.#timeoutMs;
    const path = `/v1/agents/${encodeURIComponent(id)}/messages`;
    const body = { ...message, ...delivery, timeoutMs };
    const out = binary
      ? await this.#binaryRequest<{ reply?: unknown }>(path, body, timeoutMs + 5000)
      : await this.request<{ reply?: unknown }>("POST", path, body, timeoutMs + 5000);
    return "reply" in out ? out.reply : out;
  }

  /** A POST with a JSON body whose answer is asked for as CBOR (cbor.ts loads at the first). */
  async #binaryRequest<T>(path: string, body: unknown, timeoutMs: number): Promise<T> {
    const res = await this.fetch("POST", path, {
      body: stringifyTagged(body),
      headers: { "content-type": "application/json", accept: CBOR_TYPE },
      timeoutMs,
    });
    // A host that answers JSON anyway (one that does not speak CBOR) is read as such.
    if (!(res.headers.get("content-type") ?? "").startsWith(CBOR_TYPE)) {
      return answerOf<T>(await res.text(), `POST ${this.baseUrl}${path}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    // By URL: a literal import() would load cbor-x with this module, for every command.
    const { decodeCbor } = await import(new URL("../agents/cbor.ts", import.meta.url).href) as typeof Cbor;
    return decodeCbor<T>(bytes);
  }

  deactivate(id: string, policy: Record<string, unknown> = {}) {
    return this.request("POST", `/v1/agents/${encodeURIComponent(id)}/deactivate`, { policy });
  }

  activate(id: string) {
    return this.request("POST", `/v1/agents/${encodeURIComponent(id)}/activate`, {});
  }

  dispose(id: string) {
    return this.request("DELETE", `/v1/agents/${encodeURIComponent(id)}`);
  }

  dispatch(id: string, target: string) {
    return this.request<{ id: string; host: string }>(
      "POST",
      `/v1/agents/${encodeURIComponent(id)}/dispatch`,
      { target },
    );
  }

  clone(id: string, target?: string) {
    return this.request<{ id: string; host: string }>("POST", `/v1/agents/${encodeURIComponent(id)}/clone`, {
      target,
    });
  }

  /** Pulls agent `id` from host `from` (name or URL) to this host. */
  retract(id: string, from: string) {
    return this.request<{ id: string; host: string }>(
      "POST",
      `/v1/agents/${encodeURIComponent(id)}/retract`,
      { from },
    );
  }

  events(since = 0, limit = 100) {
    return this.request<{ events: Record<string, unknown>[]; lastId: number }>(
      "GET",
      `/v1/events?since=${since}&limit=${limit}`,
    );
  }
}

/** How long a client waits before asking a starting host again. */
const STARTING_RETRY_MS = 100;

/**
 * Whether the environment names a proxy `fetch` would send a request to `url` through, which
 * host/plain_http.ts and host/sized_upload.ts do not honour.
 */
function proxied(url: string): boolean {
  const names = url.startsWith("https:")
    ? ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    : ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];
  try {
    return names.some((name) => Boolean(Deno.env.get(name)));
  } catch {
    return false; // no permission to read the environment: fetch could not read it either
  }
}
const decoder = new TextDecoder();

/**
 * Refusals made before anything was done, that a moment's wait may end, and the wait before asking
 * again: a host still starting, and one serving as many connections as it takes (it answers
 * `Retry-After: 1`; idle connections leave within its header or idle timeout).
 */
const RETRIED: Partial<Record<string, number>> = {
  starting: STARTING_RETRY_MS,
  too_many_connections: 1000,
};

/**
 * `attempt`'s result; while it fails with a {@link RETRIED} refusal (and the request can be sent
 * again), asked again after its wait, until `signal` ends it (the request's timeout).
 */
async function retryWhileStarting<T>(
  signal: AbortSignal,
  resendable: boolean,
  attempt: () => Promise<T>,
): Promise<T> {
  while (true) {
    try {
      return await attempt();
    } catch (err) {
      const wait = err instanceof PagletError ? RETRIED[err.code] : undefined;
      if (wait === undefined || !resendable) throw err;
      await abortableDelay(wait, signal).catch(() => {
        throw err;
      });
    }
  }
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const timer = later(ms, () => {
      signal.removeEventListener("abort", abort);
      resolve();
    });
    const abort = () => {
      cancel(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
  });
}

/** `host:port` → `http://host:port`, trailing slashes removed. */
export function normalizeUrl(url: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(url) ? url : `http://${url}`;
  return withScheme.replace(/\/+$/, "");
}

/** `answer`, or the signal's reason once it aborts (an in-process handler does not watch the signal). */
function untilAborted(answer: Promise<Response>, signal: AbortSignal): Promise<Response> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    answer.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/**
 * The few host routes a Runner uses (create and dispose executors, send them batches, list the
 * mesh, call compute-slots), over HTTP with tagged JSON. `agents/` never imports the host's own
 * client: a Runner runs in scripts and CLIs that may have no host in their process. An embedded
 * host hands in `transport` so calls skip the loopback connection.
 *
 * @module
 */
import { PagletError } from "../errors.ts";
import { answerOf, stringifyTagged } from "../wire.ts";

/** How a Runner reaches its entry host and the hosts its executors run on. */
export interface RunnerConnection {
  /** Entry host URL. @default $PAGLETS_ENTRY or http://127.0.0.1:8765 */
  entry?: string;
  /** Bearer key. @default $PAGLETS_API_KEY */
  apiKey?: string | null;
  /** Sends a request without HTTP (an in-process host's `handle`); used for the entry host only. */
  transport?: (request: Request) => Promise<Response>;
}

/** A host of the mesh as `GET /v1/mesh/hosts` lists it. */
export interface RunnerHost {
  name: string;
  url: string;
  online: boolean;
  tags: string[];
  cpuCount: number;
}

function trimUrl(url: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(url) ? url : `http://${url}`;
  return withScheme.replace(/\/+$/, "");
}

/** Requests to hosts of one mesh. */
export class RunnerHttp {
  readonly entry: string;
  readonly #apiKey: string | null;
  readonly #transport?: (request: Request) => Promise<Response>;

  constructor(connection: RunnerConnection = {}) {
    this.entry = trimUrl(connection.entry ?? Deno.env.get("PAGLETS_ENTRY") ?? "http://127.0.0.1:8765");
    this.#apiKey = connection.apiKey === undefined
      ? Deno.env.get("PAGLETS_API_KEY") ?? null
      : connection.apiKey;
    this.#transport = connection.transport;
  }

  /** A JSON request to `host` (a base URL); error answers throw their `PagletError`. */
  async request<T>(
    host: string,
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 30_000,
  ): Promise<T> {
    const url = trimUrl(host) + path;
    const init: RequestInit = {
      method,
      body: body === undefined ? undefined : stringifyTagged(body),
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}),
      },
      signal: AbortSignal.timeout(timeoutMs),
    };
    let res: Response;
    try {
      res = this.#transport && trimUrl(host) === this.entry
        ? await this.#transport(new Request(url, init))
        : await fetch(url, init);
    } catch (err) {
      if ((err as Error).name === "TimeoutError") {
        throw new PagletError("timeout", `${method} ${url} timed out after ${timeoutMs} ms`);
      }
      throw new PagletError("host_unreachable", `Cannot reach ${host}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      try {
        throw PagletError.fromWire(JSON.parse(text).error);
      } catch (err) {
        if (err instanceof PagletError) throw err;
        throw new PagletError("internal", `HTTP ${res.status} from ${url}: ${text.slice(0, 200)}`);
      }
    }
    return answerOf<T>(text, `${method} ${url}`);
  }

  /** Online hosts of the mesh, the entry host first. */
  async hosts(): Promise<RunnerHost[]> {
    const { hosts } = await this.request<{ hosts: RunnerHost[] }>(this.entry, "GET", "/v1/mesh/hosts")
      .catch(async (err) => {
        // A host without the mesh extension still runs executors of its own.
        if (!(err instanceof PagletError) || err.code !== "route_not_found") throw err;
        const info = await this.request<RunnerHost>(this.entry, "GET", "/v1/host");
        return { hosts: [{ ...info, url: this.entry, online: true }] };
      });
    const online = hosts.filter((h) => h.online).map((h) => ({ ...h, url: trimUrl(h.url) }));
    const entry = online.find((h) => h.url === this.entry);
    return entry ? [entry, ...online.filter((h) => h !== entry)] : online;
  }

  /** Sends a message to an agent on `host` and returns its reply. */
  async send<T>(
    host: string,
    agentId: string,
    kind: string,
    args: Record<string, unknown>,
    timeoutMs: number,
  ) {
    const out = await this.request<{ reply?: T }>(
      host,
      "POST",
      `/v1/agents/${encodeURIComponent(agentId)}/messages`,
      { kind, args, timeoutMs },
      timeoutMs + 5_000,
    );
    return out.reply as T;
  }
}

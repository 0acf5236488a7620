/**
 * The {@link Mesh} a script gets from `connect()` under `paglets run`: HTTP calls to the entry host,
 * and to the host an agent lives on. Types the script defines are created with the script's code
 * hash; a host other than the entry fetches the module from the entry host.
 */
import type { AgentRef, CreateOptions, MeshHost } from "../agents/context.ts";
import type { Mesh } from "../agents/connect.ts";
import { PagletError } from "../agents/errors.ts";
import { interrupted } from "../agents/interruption.ts";
import type { MessageInput, SendOptions } from "../agents/message.ts";
import { requirePlainData } from "../agents/wire.ts";
import { HostClient, normalizeUrl } from "../host/client.ts";

export class ScriptMesh implements Mesh {
  readonly entry: string;
  readonly code: string;
  readonly #entryClient: HostClient;
  /** The entry host's URL as the mesh lists it (what other hosts fetch the module from). */
  readonly #codeFrom: string;
  readonly #apiKey: string | null;
  /** The types the script's module defines (the entry host's answer to the upload). */
  readonly #types: ReadonlySet<string>;
  readonly #clients = new Map<string, HostClient>();

  constructor(
    entryClient: HostClient,
    codeFrom: string,
    apiKey: string | null,
    code: string,
    types: string[],
  ) {
    this.#entryClient = entryClient;
    this.#codeFrom = codeFrom;
    this.entry = entryClient.baseUrl;
    this.#apiKey = apiKey;
    this.code = code;
    this.#types = new Set(types);
  }

  #client(url: string): HostClient {
    if (url === this.entry) return this.#entryClient;
    let client = this.#clients.get(url);
    if (!client) this.#clients.set(url, client = new HostClient(url, { apiKey: this.#apiKey }));
    return client;
  }

  async #resolve(nameOrUrl: string): Promise<string> {
    if (/^[a-z]+:\/\//i.test(nameOrUrl)) return normalizeUrl(nameOrUrl);
    const host = (await this.hosts()).find((h) => h.name === nameOrUrl);
    if (!host) {
      throw new PagletError("host_not_found", `No host named '${nameOrUrl}' in the mesh of ${this.entry}`);
    }
    return host.url;
  }

  #ref(target: string | AgentRef): AgentRef {
    return typeof target === "string" ? { id: target, host: this.entry } : target;
  }

  create(type: string, options: CreateOptions = {}): Promise<AgentRef> {
    // Ctrl-C: the script's main part may run on a moment while the run ends; it makes no more
    // paglets meanwhile (what is under way already ends cleanly: agents/interruption.ts).
    if (interrupted.aborted) {
      return Promise.reject(
        new PagletError(
          "interrupted",
          `The script was interrupted: it creates no more paglets (a '${type}')`,
        ),
      );
    }
    return calledFrom(new Error(), this.#create(type, options));
  }

  async #create(type: string, options: CreateOptions): Promise<AgentRef> {
    requirePlainData(options.state, `Cannot create a '${type}' paglet`, "state");
    requirePlainData(options.args, `Cannot create a '${type}' paglet`, "args");
    const url = options.host ? await this.#resolve(options.host) : this.entry;
    const code = options.code ?? (this.#types.has(type) ? this.code : undefined);
    try {
      const created = await this.#client(url).createAgent({
        type,
        state: options.state,
        args: options.args,
        id: options.id,
        ...(code ? { code, ...(url === this.entry ? {} : { codeFrom: this.#codeFrom }) } : {}),
      });
      return { id: created.id, host: created.host };
    } catch (err) {
      // The host lists its own types: say which ones this script defines too.
      if (!(err instanceof PagletError && err.code === "unknown_agent_type") || code) throw err;
      const own = [...this.#types].sort();
      throw new PagletError(
        "unknown_agent_type",
        `${err.message}. This script's types: ${own.join(", ") || "none"}`,
      );
    }
  }

  send(target: string | AgentRef, message: MessageInput, options: SendOptions = {}): Promise<unknown> {
    return calledFrom(new Error(), this.#send(target, message, options));
  }

  async #send(
    target: string | AgentRef,
    message: MessageInput,
    options: SendOptions & { oneway?: boolean },
  ): Promise<unknown> {
    const ref = this.#ref(target);
    requirePlainData(message?.args, `Cannot send message '${message?.kind}' to ${ref.id}`, "args");
    return await this.#client(normalizeUrl(ref.host)).send(ref.id, message, options);
  }

  sendOneway(target: string | AgentRef, message: MessageInput, options: SendOptions = {}): Promise<void> {
    return calledFrom(new Error(), this.#send(target, message, { ...options, oneway: true }).then(() => {}));
  }

  async hosts(options: { onlineOnly?: boolean } = {}): Promise<MeshHost[]> {
    const { hosts } = await this.#entryClient.request<{ hosts: MeshHost[] }>("GET", "/v1/mesh/hosts");
    return options.onlineOnly ? hosts.filter((h) => h.online) : hosts;
  }

  agent(target: string | AgentRef): Promise<Record<string, unknown> | null> {
    return calledFrom(new Error(), this.#find(target).then((found) => found?.record ?? null));
  }

  /** Disposes the agent where it is now: a host it left is asked where it went, as `agent()` does. */
  dispose(target: string | AgentRef): Promise<void> {
    return calledFrom(new Error(), this.#dispose(target));
  }

  async #dispose(target: string | AgentRef): Promise<void> {
    const { id, host } = this.#ref(target);
    const found = await this.#find(target);
    if (!found) throw new PagletError("agent_not_found", `No agent ${id} at ${host} or where it moved on to`);
    await this.#client(found.host).dispose(id);
  }

  /** The agent's record and the host that holds it; a host it left answers where it went (a few hops). */
  async #find(target: string | AgentRef): Promise<{ record: Record<string, unknown>; host: string } | null> {
    const { id } = this.#ref(target);
    let host = normalizeUrl(this.#ref(target).host);
    for (let hop = 0; hop < 8; hop++) {
      let record: Record<string, unknown>;
      try {
        record = await this.#client(host).getAgent(id);
      } catch (err) {
        if (err instanceof PagletError && err.code === "agent_not_found") return null;
        throw err;
      }
      if (typeof record.movedTo !== "string") return { record, host };
      host = normalizeUrl(record.movedTo);
    }
    return null;
  }
}

/**
 * `work`, a mesh call of the script; its failure also carries `site`'s frames (made where the script
 * called, before any await), so that `paglets run` names the script's line whatever the await chain
 * kept of the stack.
 */
async function calledFrom<T>(site: Error, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof PagletError && site.stack) {
      err.stack = `${err.stack}\n${site.stack.split("\n").slice(1).join("\n")}`;
    }
    throw err;
  }
}

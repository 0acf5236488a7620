/**
 * The mesh's {@link RemoteRouter}: names to URLs, remote creation, and message delivery to
 * agents on other hosts, following forwarding records left behind by agents that moved.
 *
 * Forwarding is bounded: every hop adds one to the `x-paglets-hops` header, a host never
 * forwards to itself, and a message that has been forwarded {@link MAX_FORWARD_HOPS} times fails
 * with `agent_not_found` instead of travelling on.
 */
import { PagletError } from "../../agents/errors.ts";
import type { AgentRef, CreateOptions, MeshHost } from "../../agents/context.ts";
import type { Message } from "../../agents/message.ts";
import { decodeCbor, encodeCbor } from "../../agents/cbor.ts";
import { CBOR_TYPE } from "../http/agent_routes.ts";
import { HostClient, normalizeUrl } from "../client.ts";
import { answerOf } from "../../agents/wire.ts";
import type { Host } from "../host.ts";
import type { HostAddress } from "../storage/agent_store.ts";
import type { RemoteRouter, RemoteSendOptions } from "../kernel/remote.ts";
import type { GossipNode } from "./gossip.ts";
import type { MembershipTable } from "./membership.ts";
import { sleep } from "../../agents/timers.ts";
import { publishedUrl } from "./record_limits.ts";
import { arrivingBody } from "../arriving_body.ts";
import { concat } from "../../agents/bytes.ts";

const utf8 = new TextDecoder();

/** A forwarded message's reply is given up once nothing of it arrived for this long. */
const REPLY_STALL_MS = 30_000;

/**
 * How much longer than a forwarded message's time this host waits for the answer of the host it
 * forwarded the message to. That host gets the message's whole time, and its own `timeout` (which
 * says what happened there: the agent did not reply, or the message waited behind a move) has this
 * long to come back, however loaded the two hosts and the link between them are; this host's own
 * timeout (the other host said nothing at all) comes only after it.
 */
export const FORWARD_GRACE_MS = 2000;

/** Header carrying how many times a message has been forwarded between hosts. */
export const HOPS_HEADER = "x-paglets-hops";

/** Forwarding hops after which a message is given up. */
export const MAX_FORWARD_HOPS = 8;

/** A host name or URL counts as a URL when it has a scheme, a port or a path (names have none). */
export function looksLikeUrl(nameOrUrl: string): boolean {
  return /[:/]/.test(nameOrUrl);
}

/**
 * A URL in the form hosts publish: scheme defaults to http, host lower-cased, default port and
 * trailing slashes dropped, path kept (for hosts behind a reverse proxy). Null when malformed.
 */
export function baseUrl(url: string): string | null {
  return publishedUrl(normalizeUrl(url.trim()));
}

export class MeshRemoteRouter implements RemoteRouter {
  readonly #host: Host;
  readonly #table: MembershipTable;
  readonly #gossip: GossipNode;

  constructor(host: Host, gossip: GossipNode) {
    this.#host = host;
    this.#gossip = gossip;
    this.#table = gossip.table;
  }

  resolve(nameOrUrl: string): string | null {
    const member = this.#table.byName(nameOrUrl);
    if (member) return member.url;
    if (!looksLikeUrl(nameOrUrl)) return null;
    // A host that came back at another address is found there (a forwarding record names the old).
    const url = baseUrl(nameOrUrl);
    return url === null ? null : this.#table.currentUrl(url) ?? url;
  }

  locate(address: HostAddress): string | null {
    const member = (address.id ? this.#table.byId(address.id) : undefined) ??
      (address.name === null ? undefined : this.#table.byName(address.name));
    return member?.url ?? this.resolve(address.url);
  }

  async create(hostNameOrUrl: string, type: string, options: CreateOptions): Promise<AgentRef> {
    const url = this.#require(hostNameOrUrl);
    if (url === this.#host.url) {
      const record = await this.#host.runtime.create({
        type,
        state: options.state,
        args: options.args,
        id: options.id,
        code: options.code,
      });
      return { id: record.id, host: this.#host.url };
    }
    const created = await this.#client(url).createAgent({
      type,
      state: options.state,
      args: options.args,
      id: options.id,
      // The target fetches the module from this host if it lacks it.
      ...(options.code ? { code: options.code, codeFrom: this.#host.url } : {}),
    });
    return { id: created.id, host: created.host };
  }

  async send(
    target: string,
    targetHost: string | undefined,
    message: Message,
    options: RemoteSendOptions,
  ): Promise<unknown> {
    const host = this.#host;
    let url = targetHost === undefined ? null : this.#require(targetHost);
    if (url === null || url === host.url) {
      const movedTo = await host.store.movedTo(target);
      url = movedTo ? this.locate(movedTo) : null;
    }
    if (url === null || url === host.url) {
      throw new PagletError(
        "agent_not_found",
        `No agent ${target} on host ${host.name}, and no record of where it went`,
      );
    }
    const hops = options.hops ?? 0;
    if (hops >= MAX_FORWARD_HOPS) {
      throw new PagletError(
        "agent_not_found",
        `Gave up on the message for agent ${target} after ${hops} forwarding hops (last at host ${host.name}); its forwarding records may form a loop`,
      );
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    const body = {
      kind: message.kind,
      args: message.args,
      priority: message.priority,
      sender: message.sender,
      id: message.id,
      oneway: options.oneway,
      noDelay: options.noDelay,
      // The host there gets all of the message's time; this host waits FORWARD_GRACE_MS longer for
      // its answer, so that the timeout that comes back is that host's own (it says what happened there).
      timeoutMs,
    };
    // CBOR between hosts: bigints and bytes stay binary (no decimal text, no base64).
    const reading = new AbortController();
    const res = await this.#client(url).fetch("POST", `/v1/agents/${encodeURIComponent(target)}/messages`, {
      body: encodeCbor(body) as Uint8Array<ArrayBuffer>,
      headers: { "content-type": CBOR_TYPE, accept: CBOR_TYPE, [HOPS_HEADER]: String(hops + 1) },
      // The message's own time and the grace bound the answer's head (the way there, the handler, the
      // way back's start); the reply itself is read for as long as it keeps arriving: a large reply of
      // a handler that took most of the message's time would outlast it.
      timeoutMs: timeoutMs + FORWARD_GRACE_MS,
      signal: reading.signal,
    });
    const request = `POST ${url}/v1/agents/${target}/messages`;
    // Given up, the read under way ends with the request (the signal), not only with the stream.
    const parts = res.body
      ? await Array.fromAsync(arrivingBody(res.body, {
        limitMs: REPLY_STALL_MS,
        what: `The answer to ${request}`,
        onStalled: () => reading.abort(),
      }))
      : [];
    const bytes = parts.length === 1 ? parts[0] : concat(parts);
    const answer = (res.headers.get("content-type") ?? "").startsWith(CBOR_TYPE)
      ? decodeCbor<{ reply?: unknown }>(bytes)
      : answerOf<{ reply?: unknown }>(utf8.decode(bytes), request);
    return answer && typeof answer === "object" && "reply" in answer ? answer.reply : undefined;
  }

  async dispose(hostNameOrUrl: string, id: string): Promise<void> {
    const url = this.#require(hostNameOrUrl);
    if (url === this.#host.url) return await this.#host.runtime.dispose(id);
    await this.#client(url).dispose(id);
  }

  hosts(options: { onlineOnly?: boolean } = {}): MeshHost[] {
    return this.#table.list(options);
  }

  isOnline(nameOrUrl: string): boolean {
    if (nameOrUrl === this.#host.name) return true;
    const url = this.resolve(nameOrUrl);
    if (url === null) return false;
    if (url === this.#host.url) return true;
    const member = this.#table.byName(nameOrUrl) ?? this.#table.byUrl(url);
    return member?.online ?? false;
  }

  /**
   * Waits until the host is online. A URL that is not a member yet is contacted directly once a
   * round, so waiting for a host also joins it.
   */
  async waitForHost(nameOrUrl: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    const poll = Math.max(10, Math.min(100, this.#gossip.intervalMs / 4));
    let nextContact = 0;
    while (true) {
      if (this.isOnline(nameOrUrl)) return true;
      const now = Date.now();
      if (now >= deadline) return false;
      const url = this.resolve(nameOrUrl);
      if (url !== null && now >= nextContact && !this.#table.byUrl(url)?.online) {
        nextContact = now + this.#gossip.intervalMs;
        void this.#gossip.exchange(url);
      }
      await sleep(Math.min(poll, deadline - now));
    }
  }

  #require(nameOrUrl: string): string {
    const url = this.resolve(nameOrUrl);
    if (url === null) {
      const known = this.#table.list().map((m) => m.name).join(", ");
      throw new PagletError("host_not_found", `No host named '${nameOrUrl}' in the mesh (known: ${known})`);
    }
    return url;
  }

  #client(url: string): HostClient {
    return new HostClient(url, { apiKey: this.#host.options.apiKey, peer: true });
  }
}

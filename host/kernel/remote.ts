/** The seam between the kernel and the mesh: how a host reaches agents and hosts elsewhere. */
import type { AgentRef, CreateOptions, MeshHost } from "../../agents/context.ts";
import type { Message, SendOptions } from "../../agents/message.ts";
import type { HostAddress } from "../storage/agent_store.ts";

/** Options of {@link RemoteRouter.send}. */
export interface RemoteSendOptions extends SendOptions {
  oneway?: boolean;
  /** How many times this message was already forwarded between hosts (bounds forwarding chains). */
  hops?: number;
}

export interface RemoteRouter {
  /** Resolves a host name or URL to a base URL of a known mesh host; null if unknown. */
  resolve(nameOrUrl: string): string | null;
  /**
   * Where the host a record names is now: the URL of the member with its host id when the record
   * has one and the mesh knows it (it may have come back renamed, at another address), else of the
   * member of its name (it may have come back at another address, and another host may answer at
   * its old one), else the record's URL as {@link resolve} finds it; null if unknown.
   */
  locate(address: HostAddress): string | null;
  /** Creates a paglet on another host. */
  create(host: string, type: string, options: CreateOptions): Promise<AgentRef>;
  /**
   * Sends to an agent that is not on this host: to `targetHost`, or (none, or this host) where its
   * forwarding record says it went. Used by the kernel's MessageRouter only.
   */
  send(
    target: string,
    targetHost: string | undefined,
    message: Message,
    options: RemoteSendOptions,
  ): Promise<unknown>;
  /** Disposes a paglet on another host (`host`: its name or URL). */
  dispose(host: string, id: string): Promise<void>;
  hosts(options?: { onlineOnly?: boolean }): MeshHost[] | Promise<MeshHost[]>;
  isOnline(nameOrUrl: string): boolean | Promise<boolean>;
  waitForHost(nameOrUrl: string, timeoutMs: number): Promise<boolean>;
}

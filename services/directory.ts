/**
 * Service lookup: which hosts offer a service. `local` answers from this host's registry; `mesh`
 * also asks every online peer (`GET /v1/services?scope=mesh`) in parallel with a short timeout,
 * and remembers each peer's answer for a few seconds so repeated lookups do not fan out again.
 *
 * @module
 */
import type { ServiceOffer } from "../agents/context.ts";
import type { Host } from "../host/host.ts";
import type { ServiceDescription } from "./contract.ts";
import type { ServiceRegistry } from "./registry.ts";
import { onlineHosts } from "./service_host.ts";
import { ServiceClient } from "./client.ts";

export type { ServiceOffer };

/** Options of {@link ServiceDirectory}. */
export interface DirectoryOptions {
  /** Per-peer timeout of a mesh lookup. @default 1500 */
  peerTimeoutMs?: number;
  /** How long a peer's service list is reused. @default 5000 */
  cacheMs?: number;
}

export class ServiceDirectory {
  readonly #kernel: Host;
  readonly #registry: ServiceRegistry;
  readonly #peerTimeoutMs: number;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { at: number; services: ServiceDescription[] }>();

  constructor(kernel: Host, registry: ServiceRegistry, options: DirectoryOptions = {}) {
    const { peerTimeoutMs = 1500, cacheMs = 5000 } = options;
    this.#kernel = kernel;
    this.#registry = registry;
    this.#peerTimeoutMs = peerTimeoutMs;
    this.#cacheMs = cacheMs;
  }

  /** Hosts offering `name`: this host first (any scope), then peers offering it with scope mesh. */
  async lookup(name: string, scope: "local" | "mesh" = "mesh"): Promise<ServiceOffer[]> {
    const self = this.#kernel.info;
    const offers: ServiceOffer[] = [];
    const local = this.#registry.describe(name);
    if (local) offers.push(offerOf(local, self.name, self.url));
    if (scope === "local") return offers;
    const peers = (await onlineHosts(this.#kernel)).filter((h) => h.url !== self.url);
    const answers = await Promise.all(peers.map(async (peer) => {
      const services = await this.#servicesOf(peer.url).catch(() => null);
      const found = services?.find((s) => s.name === name && s.scope === "mesh");
      return found ? offerOf(found, peer.name, peer.url) : null;
    }));
    for (const offer of answers) if (offer) offers.push(offer);
    return offers;
  }

  async #servicesOf(url: string): Promise<ServiceDescription[]> {
    const cached = this.#cache.get(url);
    if (cached && Date.now() - cached.at < this.#cacheMs) return cached.services;
    const client = ServiceClient.connect(url, {
      apiKey: this.#kernel.options.apiKey,
      timeoutMs: this.#peerTimeoutMs,
    });
    const services = await client.list({ scope: "mesh" });
    this.#cache.set(url, { at: Date.now(), services });
    if (this.#cache.size > 1024) this.#cache.delete(this.#cache.keys().next().value!);
    return services;
  }
}

function offerOf(d: ServiceDescription, hostName: string, hostUrl: string): ServiceOffer {
  return {
    service: d.name,
    version: d.version,
    scope: d.scope,
    lifecycle: d.lifecycle,
    running: d.running,
    operations: d.operations,
    hostName,
    hostUrl,
  };
}

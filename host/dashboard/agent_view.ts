/**
 * `GET /v1/dashboard/agents/:id?host=NAME`: an agent's record as another host of the mesh holds it,
 * asked by the host that serves the dashboard (with its own API key, as `GET /v1/dashboard/mesh`
 * asks), so a click on a job or Runner of another host opens its detail. Only hosts of this host's
 * mesh are asked (named by name or URL): the key is never sent anywhere else.
 */
import { PagletError } from "../../agents/errors.ts";
import { HostClient } from "../client.ts";
import type { Host } from "../host.ts";

const PEER_TIMEOUT_MS = 5000;

const base = (url: string) => url.trim().replace(/\/+$/, "");

/** The mesh member named by `where` (a name or URL), this host included; null when there is none. */
async function member(host: Host, where: string): Promise<{ name: string; url: string } | null> {
  if (where === "" || where === host.name || base(where) === base(host.url)) {
    return { name: host.name, url: host.url };
  }
  const hosts = host.remote ? await host.remote.hosts() : [];
  const found = hosts.find((h) => h.name === where) ?? hosts.find((h) => base(h.url) === base(where));
  return found ? { name: found.name, url: found.url } : null;
}

/** The record (or forwarding record) of agent `id` on the mesh host `where`. */
export async function agentOnHost(host: Host, id: string, where: string): Promise<Record<string, unknown>> {
  const target = await member(host, where);
  if (!target) {
    throw new PagletError(
      "host_not_found",
      `No host '${where}' in the mesh of host ${host.name}: the dashboard asks only hosts of its mesh`,
    );
  }
  const client = target.url === host.url
    ? new HostClient(host.url, { apiKey: host.options.apiKey, transport: (r) => host.handle(r) })
    : new HostClient(target.url, { apiKey: host.options.apiKey, timeoutMs: PEER_TIMEOUT_MS, peer: true });
  try {
    return await client.getAgent(id);
  } catch (err) {
    const e = PagletError.from(err);
    const message = e.code === "agent_not_found"
      ? `No agent ${id} on host ${target.name}`
      : `Host ${target.name} (${target.url}) did not give agent ${id}'s record: ${e.message}`;
    throw new PagletError(e.code, message, e.details);
  }
}

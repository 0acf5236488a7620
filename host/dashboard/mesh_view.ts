/**
 * `GET /v1/dashboard/mesh`: what the dashboard shows of every online host, gathered by the host
 * that serves the page (with its own API key, so the browser talks to one host only): the host's
 * readings and their recent history, its compute-slots queue and leases, its compute jobs and its
 * Runner executors. A host that does not answer within 2 s is listed with its error.
 */
import { PagletError } from "../../agents/errors.ts";
import { EXECUTOR_TYPE } from "../../agents/runner/executor.ts";
import { HostClient } from "../client.ts";
import type { Host } from "../host.ts";

const PEER_TIMEOUT_MS = 2000;

export interface HostView {
  name: string;
  url: string;
  ok: boolean;
  error?: string;
  host?: unknown;
  history?: unknown[];
  slots?: unknown;
  jobs?: unknown[];
  runners?: unknown[];
}

export async function meshView(host: Host): Promise<HostView[]> {
  const peers = host.remote
    ? (await host.remote.hosts({ onlineOnly: true })).filter((h) => h.online && h.url !== host.url)
    : [];
  return await Promise.all([{ name: host.name, url: host.url }, ...peers].map((h) => hostView(host, h)));
}

async function hostView(host: Host, target: { name: string; url: string }): Promise<HostView> {
  const client = target.url === host.url
    ? new HostClient(host.url, { apiKey: host.options.apiKey, transport: (r) => host.handle(r) })
    : new HostClient(target.url, { apiKey: host.options.apiKey, timeoutMs: PEER_TIMEOUT_MS, peer: true });
  const service = (op: string, body: unknown) =>
    client.request<{ reply: Record<string, unknown> }>("POST", `/v1/services/compute-slots/${op}`, body)
      .then((r) => r.reply, () => null);
  try {
    const [info, history, slots, jobs, runners] = await Promise.all([
      client.request("GET", "/v1/host"),
      client.request<{ samples: unknown[] }>("GET", "/v1/host/history"),
      service("status", { includeQueue: true, includeLeases: true }),
      service("jobs", {}),
      client.request<{ agents: unknown[] }>("GET", `/v1/agents?type=${EXECUTOR_TYPE}`).then(
        (r) => r.agents,
        () => [],
      ),
    ]);
    return {
      ...target,
      ok: true,
      host: info,
      history: history.samples,
      slots,
      jobs: (jobs?.jobs as unknown[] | undefined) ?? [],
      runners,
    };
  } catch (err) {
    return { ...target, ok: false, error: PagletError.from(err).message };
  }
}

/**
 * The job groups whose collectors live on a host (or anywhere in the mesh), for `paglets jobs
 * groups` and the dashboard. Collectors are read from their records (live ones snapshotted), so
 * looking never wakes a collector that sleeps while it waits for its home host.
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";
import { ResultCollectorPaglet } from "../../agents/job_groups/collector.ts";
import type { GroupSummary } from "../../agents/job_groups/contract.ts";
import { type ResultCollectorState, summarize } from "../../agents/job_groups/summary.ts";
import { decodeCbor } from "../../agents/cbor.ts";
import type { ServiceHost } from "../service_host.ts";
import { Groups, type GroupsReply } from "./contract.ts";

/** A dashboard asks every few seconds: a slow peer must not hold up the answer for long. */
const PEER_TIMEOUT_MS = 3000;

/** Is this state a collector's (of any collector type)? */
function isCollectorState(
  state: Record<string, unknown>,
): state is ResultCollectorState & Record<string, unknown> {
  return typeof state.groupId === "string" && typeof state.status === "string" &&
    !!state.expectedJobs && typeof state.expectedJobs === "object" && Array.isArray(state.duplicateReports);
}

/**
 * The groups collected on this host; only `groupId` when it is not empty. Only records of collector
 * types are read (a host may keep many thousands of other agents).
 */
export async function localGroups(
  host: ServiceHost,
  groupId: string,
  collectorTypes: string[] = [],
): Promise<GroupSummary[]> {
  const runtime = host.kernel.runtime;
  const types = [...new Set([ResultCollectorPaglet.type, ...collectorTypes])];
  const records = (await Promise.all(types.map((type) => host.store.list({ type, limit: 100_000 })))).flat();
  const groups: GroupSummary[] = [];
  for (const stored of records) {
    if (stored.status !== "active" && stored.status !== "inactive") continue;
    const record = runtime.isLive(stored.id) ? await runtime.record(stored.id) ?? stored : stored;
    let state: Record<string, unknown>;
    try {
      state = record.state.length ? decodeCbor<Record<string, unknown>>(record.state) : {};
    } catch {
      continue;
    }
    if (!isCollectorState(state) || (groupId && state.groupId !== groupId)) continue;
    groups.push(summarize(state, { agentId: record.id, hostName: host.info.name, hostUrl: host.info.url }));
  }
  return groups;
}

/** The `groups` operation: this host's groups, and with `allHosts` every online host's. */
export async function listGroups(
  host: ServiceHost,
  request: { groupId: string; allHosts: boolean; collectorTypes: string[] },
): Promise<GroupsReply> {
  const groups = await localGroups(host, request.groupId, request.collectorTypes);
  const errors: GroupsReply["errors"] = [];
  if (request.allHosts) {
    const peers = (await host.onlineHosts()).filter((h) => !host.isSelf(h.url));
    const answers = await Promise.all(peers.map(async (peer) => {
      try {
        return (await host.client(peer.url, PEER_TIMEOUT_MS).call("compute-slots", Groups, {
          groupId: request.groupId,
          allHosts: false,
          collectorTypes: request.collectorTypes,
        })).groups;
      } catch (err) {
        const e = PagletError.from(err);
        errors.push({ hostName: peer.name, hostUrl: peer.url, code: e.code, message: e.message });
        return [];
      }
    }));
    groups.push(...answers.flat());
  }
  groups.sort((a, b) => a.createdAt - b.createdAt || a.groupId.localeCompare(b.groupId));
  return { groups, errors };
}

/**
 * The compute jobs on a host (agents whose state has a `computeStatus`), for `paglets jobs ps` and
 * `paglets jobs rm`: one call reads them all, with live agents snapshotted.
 *
 * @module
 */
import { decodeCbor } from "../../agents/cbor.ts";
import { computeJobIdOf } from "../../agents/compute_job_state.ts";
import type { ServiceHost } from "../service_host.ts";
import type { JobRowWire, JobsReply } from "./contract.ts";

/** Which jobs to list. */
export interface JobsFilter {
  states: string[];
  agentIds: string[];
  jobIds: string[];
  status: "active" | "inactive" | "all";
  types: string[];
}

const num = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : 0;
const str = (v: unknown) => typeof v === "string" ? v : "";

/** Lists the compute jobs of this host matching `filter`. */
export async function listComputeJobs(host: ServiceHost, filter: JobsFilter): Promise<JobsReply> {
  const runtime = host.kernel.runtime;
  const records = await host.store.list({
    ...(filter.status === "all" ? {} : { status: filter.status }),
    limit: 100_000,
  });
  const agentIds = new Set(filter.agentIds);
  const jobIds = new Set(filter.jobIds);
  const states = new Set(filter.states.map((s) => s.toUpperCase()));
  const types = new Set(filter.types);
  const candidates = records.filter((r) =>
    (agentIds.size === 0 || agentIds.has(r.id)) && (types.size === 0 || types.has(r.type)) &&
    (r.status === "active" || r.status === "inactive")
  );
  const rows = await Promise.all(candidates.map(async (stored): Promise<JobRowWire | null> => {
    const record = runtime.isLive(stored.id) ? await runtime.record(stored.id) ?? stored : stored;
    let state: Record<string, unknown>;
    try {
      state = record.state.length ? decodeCbor<Record<string, unknown>>(record.state) : {};
    } catch {
      return null;
    }
    if (typeof state.computeStatus !== "string") return null;
    const jobId = computeJobIdOf(state, record.id);
    if (jobIds.size > 0 && !jobIds.has(jobId)) return null;
    if (states.size > 0 && !states.has(state.computeStatus)) return null;
    return {
      agentId: record.id,
      type: record.type,
      status: runtime.isLive(record.id) ? "active" : record.status,
      jobId,
      computeStatus: state.computeStatus,
      computeError: str(state.computeError),
      reportError: state.reportStatus === "UNDELIVERABLE" ? str(state.reportError) || "undeliverable" : "",
      cpuCores: num(state.cpuCores),
      memoryBytes: num(state.memoryBytes),
      tempStorageBytes: num(state.tempStorageBytes),
      estimatedRuntimeSeconds: num(state.estimatedRuntimeSeconds),
      homeHostName: str(state.homeHostName),
      slotRequestId: str(state.slotRequestId),
      slotLeaseId: str(state.slotLeaseId),
      cpuCoreIds: Array.isArray(state.cpuCoreIds) ? state.cpuCoreIds.map(Number) : [],
      redirectCount: num(state.redirectCount),
      computeAttempts: num(state.computeAttempts),
      // The job's own clock: a host restart rewrites every record, not the time of its last change.
      updatedAt: num(state.computeStatusAt) || record.updatedAt,
    };
  }));
  return {
    hostName: host.info.name,
    hostUrl: host.info.url,
    jobs: rows.filter((r): r is JobRowWire => r !== null),
  };
}

/**
 * The compute jobs on a host (agents whose state has a `computeStatus`, whatever their record's
 * status), for `paglets jobs ps` and `paglets jobs rm`: one call reads them all, with live agents
 * snapshotted.
 *
 * @module
 */
import { decodeCbor, encodeCbor } from "../../agents/cbor.ts";
import { computeJobIdOf } from "../../agents/compute_job_state.ts";
import { retriesInARow } from "../../agents/compute_job_retries.ts";
import type { ServiceHost } from "../service_host.ts";
import type { AgentRecord } from "../../host/storage/agent_store.ts";
import { forEachLimited } from "../../agents/limited.ts";
import type { JobRowWire, JobsReply } from "./contract.ts";

/** Which jobs to list. */
export interface JobsFilter {
  states: string[];
  agentIds: string[];
  jobIds: string[];
  status: "active" | "inactive" | "all";
  types: string[];
}

/** `computeStatus` as CBOR writes a map key: what a compute job's stored state contains. */
const COMPUTE_STATUS_KEY = encodeCbor("computeStatus");

/** Live jobs snapshotted at once. */
const SNAPSHOTS_AT_ONCE = 32;

const num = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : 0;
const str = (v: unknown) => typeof v === "string" ? v : "";

/** Lists the compute jobs of this host matching `filter`. */
export async function listComputeJobs(host: ServiceHost, filter: JobsFilter): Promise<JobsReply> {
  const runtime = host.kernel.runtime;
  const records = await host.store.list({
    ...(filter.status === "all" ? {} : { status: filter.status }),
    // Only states that hold the key at all are read and decoded (a dashboard asks every few
    // seconds; decoding every agent's state cost a host with 10,000 agents 18% of a CPU per tab).
    stateHas: COMPUTE_STATUS_KEY,
    limit: 100_000,
  });
  const agentIds = new Set(filter.agentIds);
  const jobIds = new Set(filter.jobIds);
  const states = new Set(filter.states.map((s) => s.toUpperCase()));
  const types = new Set(filter.types);
  // Whatever its record's status: a job in a handoff (`moving`, on the host it leaves until that
  // host has the other's acknowledgement, on the one it goes to until it starts there) is held by
  // no host as active or inactive, and a crashed one stays until it is removed.
  const candidates = records.filter((r) =>
    (agentIds.size === 0 || agentIds.has(r.id)) && (types.size === 0 || types.has(r.type))
  );
  const stateOf = (record: AgentRecord): Record<string, unknown> | null => {
    try {
      return record.state.length ? decodeCbor<Record<string, unknown>>(record.state) : {};
    } catch {
      return null;
    }
  };
  // A compute job's stored state says it is one: only those live get a fresh snapshot, a few at a
  // time (all at once, 20,000 agents held the host for 15–26 s).
  const jobs = candidates.filter((r) => typeof stateOf(r)?.computeStatus === "string");
  const rows: (JobRowWire | null)[] = [];
  await forEachLimited(jobs.map((_, i) => i), SNAPSHOTS_AT_ONCE, async (i) => {
    const stored = jobs[i];
    const record = runtime.isLive(stored.id) ? await runtime.record(stored.id) ?? stored : stored;
    rows[i] = rowOf(record, stateOf(record));
  });
  return {
    hostName: host.info.name,
    hostUrl: host.info.url,
    jobs: rows.filter((r): r is JobRowWire => r !== null),
  };

  function rowOf(record: AgentRecord, state: Record<string, unknown> | null): JobRowWire | null {
    if (state === null || typeof state.computeStatus !== "string") return null;
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
      driverRetries: retriesInARow(state),
      driverError: str(state.driverError),
      // The job's own clock: a host restart rewrites every record, not the time of its last change.
      updatedAt: num(state.computeStatusAt) || record.updatedAt,
    };
  }
}

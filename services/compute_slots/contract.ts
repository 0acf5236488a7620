/**
 * The `compute-slots` contract: admission, queues and leases of compute work on every host.
 * Eager (runs from host start), offered to the mesh.
 *
 * Slot requests are validated by `normalizeSlotRequest` (see `request.ts`), not by the operation
 * schema, so a bad request answers 422 with a precise code: `invalid_cpu_cores`,
 * `invalid_memory_bytes`, `invalid_temp_storage_bytes`, `invalid_estimated_runtime_seconds`,
 * `invalid_host_tag`, `invalid_agent_id`, `invalid_slot_request`, `invalid_field`.
 *
 * @module
 */
import { z } from "zod";
import { operation } from "../../agents/operations.ts";
import { GroupSummary } from "../../agents/job_groups/contract.ts";
import { serviceContract } from "../contract.ts";

const num = z.number();
const strings = z.array(z.string());
const ids = z.array(z.number());

/** A slot request as the scheduler holds it (normalised). */
export const SlotRequestWire = z.object({
  requestId: z.string(),
  agentId: z.string(),
  agentHostUrl: z.string(),
  jobId: z.string(),
  cpuCores: num,
  memoryBytes: num,
  tempStorageBytes: num,
  estimatedRuntimeSeconds: num,
  requiresGpu: z.boolean(),
  gpuMemoryMb: num,
  requiredHostTags: strings,
  excludedHostTags: strings,
  preferredHostTags: strings,
  excludedHostNames: strings,
  excludedHostUrls: strings,
  submittedAt: num,
  redirectCount: num,
  lastRedirectAt: num,
  lastRedirectFromHostUrl: z.string(),
});

/** A host's scheduling status (what gossip carries and placement ranks). */
export const HostStatusWire = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  observedAt: num,
  cpuCount: num,
  eligibleCpuIds: ids,
  affinitySupported: z.boolean(),
  load1: num,
  otherCpuBusy: num.optional(),
  loadPerCpu: num,
  memoryTotalBytes: num,
  memoryAvailableBytes: num,
  workTotalBytes: num,
  workFreeBytes: num,
  queueLength: num,
  activeLeases: num,
  reservedCpuCores: num,
  reservedMemoryBytes: num,
  reservedTempStorageBytes: num,
  freeCpuCores: num,
  freeMemoryBytes: num,
  freeTempStorageBytes: num,
  tags: strings,
  properties: z.record(z.string(), z.string()),
  errors: strings,
});
export type HostStatusWire = z.infer<typeof HostStatusWire>;

/** A granted slot. */
export const LeaseWire = z.object({
  leaseId: z.string(),
  requestId: z.string(),
  agentId: z.string(),
  jobId: z.string(),
  agentHostUrl: z.string(),
  cpuIds: ids,
  cpuCores: num,
  memoryBytes: num,
  tempStorageBytes: num,
  estimatedRuntimeSeconds: num,
  grantedAt: num,
  expiresAt: num,
  extensions: num,
});
export type LeaseWire = z.infer<typeof LeaseWire>;

/** A lease with the compute step running under it, if any. */
export const LeaseViewWire = LeaseWire.extend({
  /** A compute step runs under the lease now. */
  running: z.boolean(),
  /** OS thread id of the step's compute worker. */
  tid: z.number().optional(),
  /** The CPU ids the step's thread may use now (reserved ids plus elastic spares). */
  mask: ids.optional(),
});

const UsageSampleWire = z.object({
  at: num,
  cpuPercent: num,
  rssBytes: num,
  workDirBytes: num,
  pathBytes: z.record(z.string(), num).optional(),
});

export const LeaseUsageWire = z.object({
  leaseId: z.string(),
  requestId: z.string(),
  agentId: z.string(),
  jobId: z.string(),
  cpuIds: ids,
  cpuCores: num,
  memoryBytes: num,
  tempStorageBytes: num,
  grantedAt: num,
  declaredPaths: strings,
  sampleCount: num,
  lastSample: UsageSampleWire.optional(),
  maxCpuPercent: num,
  maxRssBytes: num,
  maxWorkDirBytes: num,
  maxPathBytes: z.record(z.string(), num),
});
export type LeaseUsageWire = z.infer<typeof LeaseUsageWire>;

export const FinishedUsageWire = LeaseUsageWire.extend({
  finishedAt: num,
  finishReason: z.enum(["released", "cancelled", "inactive", "expired"]),
  runtimeSeconds: num,
});
export type FinishedUsageWire = z.infer<typeof FinishedUsageWire>;

/** Anything object-shaped: the handler validates it with precise error codes. */
const SlotRequestInput = z.object({}).passthrough().describe(
  "A slot request: agentId (required), requestId, jobId, cpuCores (>= 1), memoryBytes, tempStorageBytes, " +
    "estimatedRuntimeSeconds, requiresGpu, gpuMemoryMb, requiredHostTags, excludedHostTags, preferredHostTags, " +
    "excludedHostNames, excludedHostUrls, submittedAt, redirectCount, lastRedirectAt, lastRedirectFromHostUrl",
);

/** The answer to a slot request. */
export const SlotDecisionWire = z.discriminatedUnion("decision", [
  z.object({ decision: z.literal("run_now"), requestId: z.string(), lease: LeaseWire, reused: z.boolean() }),
  z.object({
    decision: z.literal("sleep"),
    requestId: z.string(),
    position: num,
    queueLength: num,
    hostName: z.string(),
    hostUrl: z.string(),
  }),
  z.object({
    decision: z.literal("redirect"),
    requestId: z.string(),
    targetHostUrl: z.string(),
    targetHostName: z.string(),
    fromHostUrl: z.string(),
    reason: z.string(),
    redirectCount: num,
    lastRedirectAt: num,
    lastRedirectFromHostUrl: z.string(),
  }),
  z.object({ decision: z.literal("rejected"), requestId: z.string(), reason: z.string() }),
]);
export type SlotDecisionWire = z.infer<typeof SlotDecisionWire>;

export const ReleaseRequest = z.object({
  /** A lease id, or every lease of an agent id. */
  leaseId: z.string().default(""),
  agentId: z.string().default(""),
}).refine((r) => r.leaseId !== "" || r.agentId !== "", { message: "give a leaseId or an agentId" });

export const ReleaseReply = z.object({ released: z.array(LeaseWire) });

/** Ends the step tagged `tag` under a lease, keeping the lease (a Runner's cancelled task). */
export const AbortStepRequest = z.object({
  leaseId: z.string().min(1),
  /** The lease's holder: only its steps are ended. */
  agentId: z.string().min(1),
  /** The step's `tag` (`runCompute`); a step not started yet is refused when it starts. */
  tag: z.string().min(1),
});

/** `running`: the step was ended; `pending`: it has not started (it never will). */
export const AbortStepReply = z.object({ aborted: z.enum(["running", "pending"]) });

export const StatusRequest = z.object({
  includeQueue: z.boolean().default(true),
  includeLeases: z.boolean().default(true),
  includeUsage: z.boolean().default(false),
  includeHistory: z.boolean().default(false),
  includePeers: z.boolean().default(false),
  /** Newest finished jobs in the history; 0 = all kept. */
  historyLimit: z.number().int().min(0).default(0),
});

/** Counters since the service started. */
export const CountersWire = z.object({
  requests: num,
  grantedAtOnce: num,
  grantedFromQueue: num,
  queued: num,
  redirectedAtRequest: num,
  redirectedFromQueue: num,
  rejected: num,
  released: num,
  cancelled: num,
  droppedGone: num,
  expired: num,
  deliveryFailures: num,
  stepsStarted: num,
  stepsSucceeded: num,
  stepsFailed: num,
  passes: num,
  /** Most cores ever reserved at once. */
  maxReservedCpuCores: num,
});
export type CountersWire = z.infer<typeof CountersWire>;

export const SchedulerSettingsWire = z.object({
  burstLoadPerCpu: num,
  maxGrantsPerPass: num,
  redirectCooldownMs: num,
  elasticAffinity: z.boolean(),
  affinityError: z.string().optional(),
});

export const StatusReply = z.object({
  host: HostStatusWire,
  queue: z.array(z.object({ request: SlotRequestWire, enqueuedAt: num, position: num })).optional(),
  leases: z.array(LeaseViewWire).optional(),
  activeUsage: z.array(LeaseUsageWire).optional(),
  finishedUsage: z.array(FinishedUsageWire).optional(),
  peers: z.array(HostStatusWire.extend({ fresh: z.boolean() })).optional(),
  counters: CountersWire,
  settings: SchedulerSettingsWire,
});
export type StatusReply = z.infer<typeof StatusReply>;

export const CandidateHostsRequest = z.object({
  /** The slot request to place (agentId defaults to a probe id). */
  request: SlotRequestInput.default({}),
  /** Keep at most this many candidates; 0 = all. */
  limit: z.number().int().min(0).default(0),
  includeSelf: z.boolean().default(true),
  /** Size of the window of best candidates `selected` is drawn from. */
  sampleSize: z.number().int().min(1).default(3),
  /** Ask online hosts without a fresh status directly (in parallel, short timeout). */
  refresh: z.boolean().default(true),
});

const CandidateWire = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  score: num,
  canRunNow: z.boolean(),
  waitReason: z.string().optional(),
  status: HostStatusWire,
});

export const CandidateHostsReply = z.object({
  candidates: z.array(CandidateWire),
  rejected: z.array(z.object({ hostName: z.string(), hostUrl: z.string(), reason: z.string() })),
  selected: CandidateWire.nullable(),
  /** Host → why its status could not be had. */
  errors: z.record(z.string(), z.string()),
});
export type CandidateHostsReply = z.infer<typeof CandidateHostsReply>;

export const SyncStatusRequest = z.object({ status: HostStatusWire });
export const SyncStatusReply = z.object({ status: HostStatusWire });

export const CancelRequest = z.object({
  requestIds: strings.default([]),
  agentIds: strings.default([]),
  jobIds: strings.default([]),
  all: z.boolean().default(false),
  /** Also release the leases of matching owners. */
  includeLeases: z.boolean().default(false),
});

export const CancelReply = z.object({
  cancelledRequests: z.array(SlotRequestWire),
  releasedLeases: z.array(LeaseWire),
});
export type CancelReply = z.infer<typeof CancelReply>;

export const JobsRequest = z.object({
  /** Only these compute statuses (empty = all). */
  states: strings.default([]),
  agentIds: strings.default([]),
  jobIds: strings.default([]),
  /** Agent record status: active, inactive, or both. */
  status: z.enum(["active", "inactive", "all"]).default("all"),
  types: strings.default([]),
});

/** A compute job on this host, as `jobs ps` shows it. */
export const JobRowWire = z.object({
  agentId: z.string(),
  type: z.string(),
  status: z.string(),
  jobId: z.string(),
  computeStatus: z.string(),
  computeError: z.string(),
  /** A group job whose report to its collector gave up (`UNDELIVERABLE`): why. */
  reportError: z.string().default(""),
  cpuCores: num,
  memoryBytes: num,
  tempStorageBytes: num,
  estimatedRuntimeSeconds: num,
  homeHostName: z.string(),
  slotRequestId: z.string(),
  slotLeaseId: z.string(),
  cpuCoreIds: ids,
  redirectCount: num,
  computeAttempts: num,
  /** The driver's retries in a row after failures that may pass, and the last such failure. */
  driverRetries: num.default(0),
  driverError: z.string().default(""),
  updatedAt: num,
});
export type JobRowWire = z.infer<typeof JobRowWire>;

export const JobsReply = z.object({ hostName: z.string(), hostUrl: z.string(), jobs: z.array(JobRowWire) });
export type JobsReply = z.infer<typeof JobsReply>;

export const GroupsRequest = z.object({
  /** Only this group (empty = every group). */
  groupId: z.string().default(""),
  /** Also ask every other online host of the mesh (in parallel). */
  allHosts: z.boolean().default(false),
  /** Collector types to look for besides `paglets.result_collector` (subclasses have their own). */
  collectorTypes: strings.default([]),
});

/** A host that could not answer a mesh-wide `groups` call. */
export const GroupsHostError = z.object({
  hostName: z.string(),
  hostUrl: z.string(),
  code: z.string(),
  message: z.string(),
});

export const GroupsReply = z.object({
  /** Summaries of the collectors found, oldest group first. */
  groups: z.array(GroupSummary),
  errors: z.array(GroupsHostError),
});
export type GroupsReply = z.infer<typeof GroupsReply>;

export const RequestSlot = operation("request-slot", SlotRequestInput, SlotDecisionWire);
export const ReleaseSlot = operation("release-slot", ReleaseRequest, ReleaseReply);
export const Status = operation("status", StatusRequest, StatusReply);
export const CandidateHosts = operation("candidate-hosts", CandidateHostsRequest, CandidateHostsReply);
export const SyncStatus = operation("sync-status", SyncStatusRequest, SyncStatusReply);
export const Cancel = operation("cancel", CancelRequest, CancelReply);
export const AbortStep = operation("abort-step", AbortStepRequest, AbortStepReply);
export const Jobs = operation("jobs", JobsRequest, JobsReply);
export const Groups = operation("groups", GroupsRequest, GroupsReply);

export const ComputeSlotsContract = serviceContract({
  name: "compute-slots",
  version: "1",
  description: "Admission, queues, leases and CPU pinning of compute jobs; redirects to peers with room",
  scope: "mesh",
  lifecycle: "eager",
  operations: {
    "request-slot": RequestSlot,
    "release-slot": ReleaseSlot,
    status: Status,
    "candidate-hosts": CandidateHosts,
    "sync-status": SyncStatus,
    cancel: Cancel,
    "abort-step": AbortStep,
    jobs: Jobs,
    groups: Groups,
  },
});

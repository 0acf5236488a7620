/**
 * The state every compute job carries: resource estimates and placement wishes (set by the
 * application), and the scheduling bookkeeping of {@link ComputeJobPaglet} (set by the base class:
 * home host, slot request, lease, redirects, CPU affinity, `computeStatus`).
 *
 * Estimates are validated when a job is created and whenever its state arrives somewhere, with a
 * message naming the field and the value, e.g. `cpuCores: must be an integer >= 1: current value is 0`.
 *
 * @module
 */
import { z } from "zod";
import { DRIVER_RETRY_DEFAULTS } from "./compute_job_retries.ts";

/** The compute job state machine: NEW → PLACING → WAITING_FOR_SLOT → RUNNING → COMPLETED | FAILED_FINAL. */
export const COMPUTE_STATUSES = [
  "NEW",
  "PLACING",
  "WAITING_FOR_SLOT",
  "RUNNING",
  "COMPLETED",
  "FAILED_FINAL",
] as const;
export type ComputeStatus = typeof COMPUTE_STATUSES[number];

/** Host tags are lower-case words (the rule compute-slots applies to slot requests). */
export const HOST_TAG_PATTERN: RegExp = /^[a-z0-9][a-z0-9._-]*$/;

/** The fields of a compute job's state that {@link ComputeJobPaglet} reads or owns. */
export interface ComputeJobState {
  /** Owned by the base class; read it, never write it. */
  computeStatus: ComputeStatus;
  /** Why the job failed, when `computeStatus` is FAILED_FINAL. */
  computeError: string;
  /** Job id for the scheduler and result labels; "" = `compute-job-<agent id>`. */
  jobId: string;

  // Estimates (cooperative: nothing enforces them, the usage history shows what was used).
  /** CPU cores the compute step needs; the lease pins it to this many CPU ids. @default 1 */
  cpuCores: number;
  /** Memory the job needs; must be > 0 unless `allowZeroMemoryBytes`. */
  memoryBytes: number;
  /** Scratch space in the work dir. @default 0 */
  tempStorageBytes: number;
  /** Expected compute time; must be > 0 unless `allowZeroRuntimeSeconds`. Sets the lease TTL. */
  estimatedRuntimeSeconds: number;
  allowZeroMemoryBytes: boolean;
  allowZeroRuntimeSeconds: boolean;
  /** Accepted, but rejected by every host until GPU admission exists. */
  requiresGpu: boolean;
  gpuMemoryMb: number;

  // Placement wishes.
  /** A host must carry all of these tags. */
  requiredHostTags: string[];
  /** A host must carry none of these. */
  excludedHostTags: string[];
  /** Each of these a host carries improves its rank. */
  preferredHostTags: string[];
  excludedHostNames: string[];
  excludedHostUrls: string[];
  /** The host the job was created on (its home, often a laptop) may run it too. @default false */
  allowHomeCompute: boolean;
  /** Candidates asked for at placement. @default 8 */
  candidateLimit: number;
  /**
   * How long a job with no host to go to waits for one when the cause may pass (a host offline or
   * unreachable, a host whose status has errors) before it fails. 0: fail at once. @default 120
   */
  placementWaitSeconds: number;
  /** Timeout of scheduler calls. @default 10 */
  schedulerTimeoutSeconds: number;
  /**
   * How often in a row the driver tries a call again that failed in a way that may pass (compute-slots
   * not answering in time, its host starting or stopping) before the job fails. 0: fail at the first.
   * @default 10
   */
  driverRetryLimit: number;
  /** Pause before the driver's first retry; each further one doubles it. @default 2 */
  driverRetrySeconds: number;
  /** The longest pause between two retries of the driver. @default 60 */
  driverRetryMaxSeconds: number;
  /** Restart the compute step after a host restart that interrupted it. @default true */
  restartRunningOnHostStartup: boolean;

  // Bookkeeping of the base class.
  homeHostName: string;
  homeHostUrl: string;
  /** The host placement chose (or a redirect named). */
  selectedHostUrl: string;
  slotRequestId: string;
  /** Epoch ms of the first slot request; the job keeps its place in line mesh-wide. */
  slotSubmittedAt: number;
  /** Epoch ms since which placement has found no host to go to (0: it found one). */
  placementWaitingSince: number;
  /**
   * Epoch ms when a job waiting for a slot asks again and tries to sleep again, should its host not
   * store it asleep (a full disk): it waits awake until then. Older states lack it.
   */
  slotNextTryAt?: number;
  slotLeaseId: string;
  redirectCount: number;
  /** Epoch ms of the last redirect, 0 = never. */
  lastRedirectAt: number;
  lastRedirectFromHostUrl: string;
  /** Where the compute step ran. */
  computeHostName: string;
  computeHostUrl: string;
  /** The CPU ids the lease reserved. */
  cpuCoreIds: number[];
  /** `Cpus_allowed_list` of the compute thread when the step started. */
  observedCpus: number[];
  cpuAffinitySupported: boolean;
  cpuAffinityEnforced: boolean;
  cpuAffinityError: string;
  /** How often the compute step was started (more than 1 after a restart). */
  computeAttempts: number;
  /** Epoch ms when the job reached COMPLETED or FAILED_FINAL. */
  computeFinishedAt: number;
  /** Epoch ms when `computeStatus` last changed (kept across restarts, unlike a record's update time). */
  computeStatusAt: number;
  /** The driver's retries in a row after failures that may pass (0 once a slot request gets an answer). */
  driverRetries: number;
  /** The last such failure, `[code] message` ("" once a slot request gets an answer). */
  driverError: string;
  /** `prepareCompute()` failures in a row that may pass (0 once one succeeds). */
  prepareRetries: number;
}

/**
 * The defaults of a compute job's state; spread them into `initialState()`.
 *
 * @example
 * ```ts
 * override initialState(): MyJobState {
 *   return { ...computeJobDefaults({ cpuCores: 2, memoryBytes: 512 * 2 ** 20, estimatedRuntimeSeconds: 60 }), seed: 1 };
 * }
 * ```
 */
export function computeJobDefaults(estimates: Partial<ComputeJobState> = {}): ComputeJobState {
  return {
    computeStatus: "NEW",
    computeError: "",
    jobId: "",
    cpuCores: 1,
    memoryBytes: 0,
    tempStorageBytes: 0,
    estimatedRuntimeSeconds: 0,
    allowZeroMemoryBytes: false,
    allowZeroRuntimeSeconds: false,
    requiresGpu: false,
    gpuMemoryMb: 0,
    requiredHostTags: [],
    excludedHostTags: [],
    preferredHostTags: [],
    excludedHostNames: [],
    excludedHostUrls: [],
    allowHomeCompute: false,
    candidateLimit: 8,
    placementWaitSeconds: 120,
    schedulerTimeoutSeconds: 10,
    ...DRIVER_RETRY_DEFAULTS,
    restartRunningOnHostStartup: true,
    homeHostName: "",
    homeHostUrl: "",
    selectedHostUrl: "",
    slotRequestId: "",
    slotSubmittedAt: 0,
    placementWaitingSince: 0,
    slotNextTryAt: 0,
    slotLeaseId: "",
    redirectCount: 0,
    lastRedirectAt: 0,
    lastRedirectFromHostUrl: "",
    computeHostName: "",
    computeHostUrl: "",
    cpuCoreIds: [],
    observedCpus: [],
    cpuAffinitySupported: false,
    cpuAffinityEnforced: false,
    cpuAffinityError: "",
    computeAttempts: 0,
    computeFinishedAt: 0,
    computeStatusAt: 0,
    driverRetries: 0,
    driverError: "",
    prepareRetries: 0,
    ...estimates,
  };
}

/** Keys of {@link ComputeJobState}: the base class owns them; a compute step's changes to them are ignored. */
export const COMPUTE_JOB_KEYS: ReadonlySet<string> = new Set(Object.keys(computeJobDefaults()));

/** A value as an error message quotes it: strings in quotes, the rest as JSON. */
export function showValue(value: unknown): string {
  try {
    return typeof value === "string" ? `'${value}'` : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A number field with a lower bound; one message naming the value, whatever is wrong with it. */
export function boundedNumber(min: number, integer: boolean, subject = "") {
  const what = `${integer ? "an integer" : "a finite number"} >= ${min}`;
  const message = (value: unknown) => `${subject}must be ${what}: current value is ${showValue(value)}`;
  return z.number({ errorMap: (_iss, ctx) => ({ message: message(ctx.data) }) }).superRefine((v, ctx) => {
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min) {
      ctx.addIssue({ code: "custom", message: message(v) });
    }
  });
}

function tags() {
  return z.array(
    z.string().refine((t) => HOST_TAG_PATTERN.test(t.trim().toLowerCase()), (t) => ({
      message: `${showValue(t)} is not a host tag: tags are words matching ${HOST_TAG_PATTERN.source}`,
    })),
    {
      errorMap: (_iss, ctx) => ({
        message: `must be a list of host tags: current value is ${showValue(ctx.data)}`,
      }),
    },
  );
}

const names = () =>
  z.array(z.string(), {
    errorMap: (_iss, ctx) => ({
      message: `must be a list of strings: current value is ${showValue(ctx.data)}`,
    }),
  });

const ESTIMATES = {
  computeStatus: z.enum(COMPUTE_STATUSES),
  cpuCores: boundedNumber(1, true),
  memoryBytes: boundedNumber(0, true),
  tempStorageBytes: boundedNumber(0, true),
  estimatedRuntimeSeconds: boundedNumber(0, false),
  gpuMemoryMb: boundedNumber(0, false),
  requiresGpu: z.boolean(),
  allowZeroMemoryBytes: z.boolean(),
  allowZeroRuntimeSeconds: z.boolean(),
  allowHomeCompute: z.boolean(),
  restartRunningOnHostStartup: z.boolean(),
  candidateLimit: boundedNumber(0, true),
  placementWaitSeconds: boundedNumber(0, false).optional(),
  schedulerTimeoutSeconds: boundedNumber(0.1, false),
  // Optional: states stored before these fields existed still validate (the driver's defaults apply).
  driverRetryLimit: boundedNumber(0, true).optional(),
  driverRetrySeconds: boundedNumber(0.1, false).optional(),
  driverRetryMaxSeconds: boundedNumber(0.1, false).optional(),
  requiredHostTags: tags(),
  excludedHostTags: tags(),
  preferredHostTags: tags(),
  excludedHostNames: names(),
  excludedHostUrls: names(),
};

/**
 * The state schema of a compute job: the estimates above plus `shape` (your own fields). Unknown
 * fields are allowed. Zero memory and runtime are refused unless the job opts in, so every job
 * states what it needs.
 *
 * @example
 * ```ts
 * static override readonly stateSchema = computeJobSchema({ seed: z.number().int() });
 * ```
 */
export function computeJobSchema<Shape extends z.ZodRawShape>(shape: Shape = {} as Shape) {
  return z.object({ ...ESTIMATES, ...shape }).passthrough().superRefine((state, ctx) => {
    const s = state as unknown as ComputeJobState;
    if (s.memoryBytes === 0 && !s.allowZeroMemoryBytes) {
      ctx.addIssue({
        code: "custom",
        path: ["memoryBytes"],
        message: "must be > 0 (an estimate of the memory the job needs; set allowZeroMemoryBytes to run " +
          "without one): current value is 0",
      });
    }
    if (s.estimatedRuntimeSeconds === 0 && !s.allowZeroRuntimeSeconds) {
      ctx.addIssue({
        code: "custom",
        path: ["estimatedRuntimeSeconds"],
        message: "must be > 0 (it sets the lease TTL; set allowZeroRuntimeSeconds to run without an " +
          "estimate): current value is 0",
      });
    }
  });
}

/** A job's id: the one its state names, else one made of its agent id. */
export function computeJobIdOf(state: { jobId?: unknown }, agentId: string): string {
  return typeof state.jobId === "string" && state.jobId ? state.jobId : `compute-job-${agentId}`;
}

/** The slot request a job's state stands for (compute-slots `request-slot` input). */
export function slotRequestOf(
  state: ComputeJobState,
  agentId: string,
  jobId: string,
): Record<string, unknown> {
  return {
    ...(state.slotRequestId ? { requestId: state.slotRequestId } : {}),
    agentId,
    jobId,
    cpuCores: state.cpuCores,
    memoryBytes: state.memoryBytes,
    tempStorageBytes: state.tempStorageBytes,
    estimatedRuntimeSeconds: state.estimatedRuntimeSeconds,
    requiresGpu: state.requiresGpu,
    gpuMemoryMb: state.gpuMemoryMb,
    requiredHostTags: state.requiredHostTags,
    excludedHostTags: state.excludedHostTags,
    preferredHostTags: state.preferredHostTags,
    excludedHostNames: state.excludedHostNames,
    // A job that may not compute at home must not be redirected there either.
    excludedHostUrls:
      !state.allowHomeCompute && state.homeHostUrl && !state.excludedHostUrls.includes(state.homeHostUrl)
        ? [...state.excludedHostUrls, state.homeHostUrl]
        : state.excludedHostUrls,
    ...(state.slotSubmittedAt > 0 ? { submittedAt: state.slotSubmittedAt } : {}),
    redirectCount: state.redirectCount,
    lastRedirectAt: state.lastRedirectAt,
    lastRedirectFromHostUrl: state.lastRedirectFromHostUrl,
  };
}

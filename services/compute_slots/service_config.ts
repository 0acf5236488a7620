/**
 * Options of the compute-slots service and the small conversions it needs at its boundary:
 * slot requests from the wire (with precise 422 codes), decisions to the wire, compute steps from
 * paglets, and the counters it reports.
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";
import type { CountersWire, SlotDecisionWire } from "./contract.ts";
import type { SlotDecision } from "./decisions.ts";
import { normalizeSlotRequest, type SlotRequest, SlotRequestError } from "./request.ts";
import type { SlotSchedulerOptions } from "./scheduler_options.ts";
import type { ComputeStepSpec } from "../../agents/context.ts";

/** Options of the compute-slots service. */
export interface ComputeSlotsOptions
  extends Omit<SlotSchedulerOptions, "host" | "now" | "isAgentAlive" | "newLeaseId"> {
  /** How often the host's resources are sampled. @default 2000 */
  sampleIntervalMs?: number;
  /** How often the status is exchanged with a few peers. @default 2000 */
  gossipIntervalMs?: number;
  /** Peers per gossip round. @default 3 */
  fanOut?: number;
  /** Timeout of one peer call. @default 1500 */
  peerTimeoutMs?: number;
  /** Minimum gap between usage samples of a running step. @default 10000 */
  usageSampleIntervalMs?: number;
  /** Safety-net sweep of leases whose agent is gone. @default 30000 */
  sweepIntervalMs?: number;
  /** Lend idle CPUs to running steps (and take them back for new leases). @default true */
  elasticAffinity?: boolean;
  /**
   * Nice value of compute threads: above the kernel's, so handing a freed slot to the next job
   * never waits for a busy CPU; null keeps the host's priority. @default 10
   */
  computeNice?: number | null;
}

export type Config = Required<Omit<ComputeSlotsOptions, keyof SlotSchedulerOptions>> & {
  scheduler: Omit<SlotSchedulerOptions, "host">;
};

/** Validates options once; fails naming the value. */
export function computeSlotsConfig(options: ComputeSlotsOptions = {}): Config {
  const {
    sampleIntervalMs = 2000,
    gossipIntervalMs = 2000,
    fanOut = 3,
    peerTimeoutMs = 1500,
    usageSampleIntervalMs = 10_000,
    sweepIntervalMs = 30_000,
    elasticAffinity = true,
    computeNice = 10,
    ...scheduler
  } = options;
  if (computeNice !== null && (!Number.isInteger(computeNice) || computeNice < -20 || computeNice > 19)) {
    throw new RangeError(
      `Cannot start compute-slots as 'computeNice' must be an integer -20..19 or null: current value is ${computeNice}`,
    );
  }
  const positive = {
    sampleIntervalMs,
    gossipIntervalMs,
    fanOut,
    peerTimeoutMs,
    usageSampleIntervalMs,
    sweepIntervalMs,
  };
  for (const [name, value] of Object.entries(positive)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(
        `Cannot start compute-slots as '${name}' must be positive: current value is ${value}`,
      );
    }
  }
  return Object.freeze({ ...positive, elasticAffinity, computeNice, scheduler });
}

/** What `compute.run` accepts from a paglet: the context's compute step. */
export type StepRequest = ComputeStepSpec;

export function checkStep(step: unknown): StepRequest {
  const s = step as Partial<StepRequest> | null;
  const problem = !s || typeof s !== "object"
    ? "a step must be an object"
    : typeof s.leaseId !== "string" || !s.leaseId
    ? "'leaseId' must be a lease id"
    : typeof s.moduleUrl !== "string" || !s.moduleUrl
    ? "'moduleUrl' must be a module URL"
    : typeof s.exportName !== "string" || !s.exportName
    ? "'exportName' must name an exported function"
    : s.tag !== undefined && (typeof s.tag !== "string" || s.tag === "")
    ? "'tag' must be a non-empty string"
    : s.usagePaths !== undefined &&
        (!Array.isArray(s.usagePaths) || s.usagePaths.some((p) => typeof p !== "string"))
    ? "'usagePaths' must be a list of paths"
    : undefined;
  if (problem) throw new PagletError("invalid_request", `Cannot run compute step as ${problem}`);
  return s as StepRequest;
}

export function emptyCounters(): CountersWire {
  return {
    requests: 0,
    grantedAtOnce: 0,
    grantedFromQueue: 0,
    queued: 0,
    redirectedAtRequest: 0,
    redirectedFromQueue: 0,
    rejected: 0,
    released: 0,
    cancelled: 0,
    droppedGone: 0,
    expired: 0,
    deliveryFailures: 0,
    stepsStarted: 0,
    stepsSucceeded: 0,
    stepsFailed: 0,
    passes: 0,
    maxReservedCpuCores: 0,
  };
}

/** Normalises a slot request; bad input becomes a 422 with the request error's code. */
export function slotRequestFrom(input: unknown): SlotRequest {
  try {
    return normalizeSlotRequest(input);
  } catch (err) {
    if (err instanceof SlotRequestError) {
      throw new PagletError(err.code, err.message, { problems: err.problems });
    }
    throw err;
  }
}

/** The wire form of a decision (redirects carry the fields the job keeps, not the whole request). */
export function decisionWire(decision: SlotDecision): SlotDecisionWire {
  if (decision.decision !== "redirect") return decision;
  return {
    decision: "redirect",
    requestId: decision.requestId,
    targetHostUrl: decision.targetHostUrl,
    targetHostName: decision.targetHostName,
    fromHostUrl: decision.fromHostUrl,
    reason: decision.reason,
    redirectCount: decision.request.redirectCount,
    lastRedirectAt: decision.request.lastRedirectAt,
    lastRedirectFromHostUrl: decision.request.lastRedirectFromHostUrl,
  };
}

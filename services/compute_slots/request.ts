/**
 * The slot request: what a compute job asks a host's compute-slots scheduler
 * for. Requests arrive over the wire from other hosts and from user code, so
 * they are validated and normalised here, once, and trusted everywhere else.
 *
 * Normal form: ids present (`slot-request-<hex>` when missing), tags and host
 * names lower-cased sorted sets, URLs trimmed without trailing slashes, all
 * times in epoch milliseconds.
 *
 * @module
 */
import { z } from "zod";
import { boundedNumber, HOST_TAG_PATTERN, showValue } from "../../agents/compute_job_state.ts";

/** Host tags are short lower-case words so they can be matched exactly and shown in tables. */
export { HOST_TAG_PATTERN };

/** A validated, normalised slot request. */
export interface SlotRequest {
  requestId: string;
  agentId: string;
  agentHostUrl: string;
  jobId: string;
  cpuCores: number;
  memoryBytes: number;
  tempStorageBytes: number;
  estimatedRuntimeSeconds: number;
  /** Accepted on the wire; admission rejects it (no GPU accounting yet). */
  requiresGpu: boolean;
  gpuMemoryMb: number;
  requiredHostTags: string[];
  excludedHostTags: string[];
  preferredHostTags: string[];
  excludedHostNames: string[];
  excludedHostUrls: string[];
  /** Epoch ms of the first submission; kept across redirects so the queue stays oldest-first mesh-wide. */
  submittedAt: number;
  redirectCount: number;
  /** Epoch ms of the last redirect, 0 when never redirected. */
  lastRedirectAt: number;
  lastRedirectFromHostUrl: string;
}

/** Error codes of {@linkcode SlotRequestError}, one per kind of bad input. */
export type SlotRequestErrorCode =
  | "invalid_slot_request"
  | "invalid_cpu_cores"
  | "invalid_memory_bytes"
  | "invalid_temp_storage_bytes"
  | "invalid_estimated_runtime_seconds"
  | "invalid_host_tag"
  | "invalid_agent_id"
  | "invalid_field";

/** A slot request that cannot be accepted; `message` names the field and the value. */
export class SlotRequestError extends Error {
  override name = "SlotRequestError";
  readonly code: SlotRequestErrorCode;
  /** Every problem found, first one also in `message`. */
  readonly problems: string[];
  constructor(code: SlotRequestErrorCode, problems: string[]) {
    super(problems[0] ?? "Cannot accept slot request");
    this.code = code;
    this.problems = problems;
  }
}

const PREFIX = "Cannot accept slot request as";

/** A number field with a lower bound, whose error message names the field and the value. */
const bounded = (field: string, min: number, integer: boolean) =>
  boundedNumber(min, integer, `${PREFIX} '${field}' `);

function tagList(field: string) {
  const tag = z.string().transform((raw, ctx) => {
    const tag = raw.trim().toLowerCase();
    if (!HOST_TAG_PATTERN.test(tag)) {
      ctx.addIssue({
        code: "custom",
        message: `${PREFIX} ${showValue(raw)} in '${field}' is not a host tag: ` +
          `tags match ${HOST_TAG_PATTERN.source} after lower-casing`,
      });
      return z.NEVER;
    }
    return tag;
  });
  return z.array(tag).default([]).transform(sortedSet);
}

function sortedSet(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ""))].sort();
}

/** Strips whitespace and trailing slashes so `http://a:1/` and `http://a:1` compare equal. */
export function normalizeHostUrl(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

const text = z.string().default("").transform((s) => s.trim());

/** The wire schema; {@linkcode normalizeSlotRequest} adds defaults that depend on the clock. */
export const SlotRequestSchema = z.object({
  requestId: text,
  agentId: z.string({ message: `${PREFIX} 'agentId' must be a non-empty string` }).trim()
    .min(1, { message: `${PREFIX} 'agentId' must be a non-empty string` }),
  agentHostUrl: text.transform(normalizeHostUrl),
  jobId: text,
  cpuCores: bounded("cpuCores", 1, true).default(1),
  memoryBytes: bounded("memoryBytes", 0, true).default(0),
  tempStorageBytes: bounded("tempStorageBytes", 0, true).default(0),
  estimatedRuntimeSeconds: bounded("estimatedRuntimeSeconds", 0, false).default(0),
  requiresGpu: z.boolean().default(false),
  gpuMemoryMb: bounded("gpuMemoryMb", 0, false).default(0),
  requiredHostTags: tagList("requiredHostTags"),
  excludedHostTags: tagList("excludedHostTags"),
  preferredHostTags: tagList("preferredHostTags"),
  excludedHostNames: z.array(z.string()).default([])
    .transform((names) => sortedSet(names.map((n) => n.trim().toLowerCase()))),
  excludedHostUrls: z.array(z.string()).default([])
    .transform((urls) => sortedSet(urls.map(normalizeHostUrl))),
  submittedAt: bounded("submittedAt", 0, false).optional(),
  redirectCount: bounded("redirectCount", 0, true).default(0),
  lastRedirectAt: bounded("lastRedirectAt", 0, false).default(0),
  lastRedirectFromHostUrl: text.transform(normalizeHostUrl),
});

/** What callers may send: every field but `agentId` is optional. */
export type SlotRequestInput = z.input<typeof SlotRequestSchema>;

/** Options of {@linkcode normalizeSlotRequest}. */
export interface NormalizeOptions {
  /** Clock for a missing `submittedAt`, epoch ms. @default Date.now */
  now?: () => number;
}

const FIELD_CODES: Record<string, SlotRequestErrorCode> = {
  cpuCores: "invalid_cpu_cores",
  memoryBytes: "invalid_memory_bytes",
  tempStorageBytes: "invalid_temp_storage_bytes",
  estimatedRuntimeSeconds: "invalid_estimated_runtime_seconds",
  requiredHostTags: "invalid_host_tag",
  excludedHostTags: "invalid_host_tag",
  preferredHostTags: "invalid_host_tag",
  agentId: "invalid_agent_id",
};

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`).join("");
}

/**
 * Validates and normalises a slot request; throws {@linkcode SlotRequestError}
 * with a code and a message naming the bad value.
 *
 * @example
 * ```ts
 * const req = normalizeSlotRequest({ agentId: "a1", cpuCores: 2, requiredHostTags: ["Linux"] });
 * // req.requiredHostTags is ["linux"], req.requestId starts with "slot-request-"
 * ```
 */
export function normalizeSlotRequest(input: unknown, options: NormalizeOptions = {}): SlotRequest {
  const { now = Date.now } = options;
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new SlotRequestError("invalid_slot_request", [
      `${PREFIX} it must be an object: current value is ${showValue(input)}`,
    ]);
  }
  const parsed = SlotRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0];
    const field = String(first.path[0] ?? "");
    const problems = issues.map((issue) =>
      issue.message.startsWith(PREFIX)
        ? issue.message
        : `${PREFIX} '${fieldPath(issue.path)}' is invalid: ${issue.message}`
    );
    throw new SlotRequestError(FIELD_CODES[field] ?? "invalid_field", problems);
  }
  const req = parsed.data;
  return {
    ...req,
    requestId: req.requestId || newSlotId("slot-request"),
    submittedAt: req.submittedAt ?? now(),
  };
}

/** `<prefix>-<16 hex digits>`: unique enough for ids that live as long as a lease or a queue entry. */
export function newSlotId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** True when two requests belong to the same owner: same request, same agent, or the same non-empty job. */
export function sameOwner(
  a: Pick<SlotRequest, "requestId" | "agentId" | "jobId">,
  b: Pick<SlotRequest, "requestId" | "agentId" | "jobId">,
): boolean {
  return a.requestId === b.requestId || a.agentId === b.agentId || (a.jobId !== "" && a.jobId === b.jobId);
}

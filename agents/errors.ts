/**
 * Errors with a stable machine-readable code. The code travels over HTTP as
 * `{"error": {"code", "message"}}` and is mapped back to a `PagletError` by clients.
 */

/**
 * Every code an error may carry: a closed set, so a typo fails the type check. The HTTP status of
 * each lives with the HTTP layer (host/http/status.ts), which must list every one.
 */
export const ERROR_CODES = [
  "bad_request",
  "malformed_json",
  "malformed_cbor",
  "unauthorized",
  "forbidden",
  "not_found",
  "agent_not_found",
  "artifact_not_found",
  "service_not_found",
  "operation_not_found",
  "route_not_found",
  "transfer_not_found",
  "host_not_found",
  "lease_not_found",
  "agent_inactive",
  "agent_busy",
  "state_conflict",
  "agent_moving",
  "transfer_refused",
  /**
   * A target asked to settle a transfer it has no row of, and may have taken and forgotten
   * (its arrivals' rows are pruned after --forwarding-retention): it cannot say.
   */
  "transfer_expired",
  "mesh_version_mismatch",
  "agent_crashed",
  "payload_too_large",
  "quota_exceeded",
  /** The host's disk is full: the change was not stored (and not made). */
  "insufficient_storage",
  "unsupported_media_type",
  "headers_too_large",
  "unknown_agent_type",
  "invalid_state",
  "invalid_request",
  "not_handled",
  "not_supported",
  // compute-slots: a slot request or compute job estimate that cannot be accepted
  "invalid_slot_request",
  "invalid_cpu_cores",
  "invalid_memory_bytes",
  "invalid_temp_storage_bytes",
  "invalid_estimated_runtime_seconds",
  "invalid_host_tag",
  "invalid_agent_id",
  "invalid_field",
  /** A compute step's own code failed (the job's fault, not the host's). */
  "compute_step_failed",
  /** A compute step was ended on request (compute-slots `abort-step`); its lease stays held. */
  "step_aborted",
  "handler_failed",
  // Runner tasks (agents/runner): the task's own error, its deadline, a cancel, a function no module exports
  "task_failed",
  "task_timeout",
  "task_cancelled",
  "not_exported",
  /** Every executor that could run a task was lost (host or worker gone) more often than it may retry. */
  "executor_lost",
  "hook_failed",
  "run_failed",
  "checksum_mismatch",
  /** A host start that cannot proceed: the port is taken, the data dir is in use, a module is missing. */
  "port_in_use",
  "data_dir_in_use",
  /** The data dir's database is damaged (unreadable, or emptied in a data dir that was used). */
  "data_corrupt",
  /** The data dir's database was written by a newer version of paglets (a downgrade). */
  "data_newer",
  "module_not_found",
  "module_load_failed",
  "host_unreachable",
  /** Another host of the mesh refused this host's API key (the two hold different keys). */
  "peer_unauthorized",
  "transfer_failed",
  /** The host has not finished starting: try again shortly (Retry-After says when). */
  "starting",
  /** The host (or the part asked for) is shutting down. */
  "draining",
  /** The host serves as many connections as it allows: try again later. */
  "too_many_connections",
  /** The worker running the agent ended (terminated as stuck) while the call was under way. */
  "worker_lost",
  /**
   * Between kernel and worker only: a message that waited in the worker behind a handler whose
   * paglet then left (deactivated, moved, disposed); the kernel routes it again, no client sees it.
   */
  "agent_left",
  "timeout",
  "transfer_pending",
  "internal",
  // Travelling code (host/code/): a module refused, unknown, or out of reach; a script's failures.
  "remote_code_disabled",
  "code_not_found",
  "invalid_code_hash",
  "code_tampered",
  "code_unavailable",
  "bundle_failed",
  "script_failed",
  /** Ctrl-C of a script (`paglets run`): the work it was doing ended early, cleanly. */
  "interrupted",
] as const;

/** A code from {@link ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[number];

const KNOWN = new Set<string>(ERROR_CODES);

/** Whether `code` is one of {@link ERROR_CODES}. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && KNOWN.has(code);
}

/**
 * A data: URL of travelling code: in a stack frame (a line `at …`) or after a syntax error's ` at `,
 * up to the `:line:column` (and `)`) that ends its line (the URL may hold spaces, and V8 elides the
 * middle of a long one with "......"); in quotes, up to a closing quote that ends a word; else up to the next whitespace.
 */
const CODE_URLS: [RegExp, string][] = [
  [/^(\s*at .*?)data:text\/javascript,.*?(:\d+:\d+\)?)$/gm, "$1<script module>$2"],
  // V8's syntax errors end their message with where: " at <url>:line:column".
  [/( at )data:text\/javascript,.*?(:\d+:\d+)$/gm, "$1<script module>$2"],
  [/data:text\/javascript,[^"\n]*(?="(?:[\s,.;:)\]]|$))/g, "<script module>"],
  [/data:text\/javascript,\S*/g, "<script module>"],
];

/**
 * `message` with each data: URL of a script's module (the whole module: kilobytes to megabytes, as
 * Deno names it in import errors and stack frames) as `<script module>`; line numbers after it count
 * in the script's bundle.
 */
function shortenCodeUrls(message: string): string {
  if (!message.includes("data:text/javascript,")) return message;
  for (const [url, by] of CODE_URLS) message = message.replace(url, by);
  return message;
}

/** Codes of failures that may pass if asked again: the other side did not answer, or not yet. */
const MAY_PASS: ReadonlySet<string> = new Set([
  "host_unreachable",
  "transfer_failed",
  "timeout",
  "starting",
  "draining",
  "too_many_connections",
  "worker_lost",
  "agent_moving",
]);

/** Is `err` a failure that may pass if asked again (a host down or restarting, a move under way)? */
export function mayPass(err: unknown): boolean {
  return err instanceof PagletError && MAY_PASS.has(err.code);
}

/**
 * The first frame of `stack` in a script's module (`at … <script module>:line:col`), shortened; null
 * when there is none: where a script's call failed, for an error whose message does not say.
 */
export function scriptFrame(stack: string | undefined): string | null {
  const line = stack?.split("\n").find((l) => l.includes("data:text/javascript,"));
  return line ? shortenCodeUrls(line.trim()) : null;
}

/** An error carrying a code from {@link ERROR_CODES}. */
export class PagletError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(shortenCodeUrls(message));
    this.name = "PagletError";
    this.code = code;
    this.details = details;
  }

  toWire(): { code: string; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /**
   * Rebuilds an error from its wire form (or wraps anything else). A code this version does not
   * know becomes `unknownAs`, keeping the original code in the message and in `details.code`.
   */
  static fromWire(wire: unknown, unknownAs: ErrorCode = "internal"): PagletError {
    if (wire && typeof wire === "object" && "code" in wire && "message" in wire) {
      const w = wire as { code: unknown; message: unknown; details?: unknown };
      if (isErrorCode(w.code)) return new PagletError(w.code, String(w.message), w.details);
      return new PagletError(unknownAs, `${String(w.message)} (code ${String(w.code)})`, {
        code: String(w.code),
        details: w.details,
      });
    }
    return new PagletError(unknownAs, String(wire));
  }

  /** Wraps any thrown value; keeps a PagletError as it is; `code` is for everything else. */
  static from(err: unknown, code: ErrorCode = "internal"): PagletError {
    // A PagletError made by JavaScript code with a code outside the union is rebuilt with `code`.
    if (err instanceof PagletError && isErrorCode(err.code)) return err;
    if (
      err && typeof err === "object" && "code" in err && "message" in err &&
      (err as unknown as Error).name === "PagletError"
    ) {
      return PagletError.fromWire(err, code);
    }
    return new PagletError(code, err instanceof Error ? err.message : thrownText(err));
  }
}

/**
 * What a thrown value that is no Error says: its `message` when it has one (`throw {code, message}`),
 * else its JSON for a plain object, else its text.
 */
function thrownText(value: unknown): string {
  if (value && typeof value === "object") {
    const message = (value as { message?: unknown }).message;
    if (typeof message === "string") return message;
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

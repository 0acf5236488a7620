/**
 * Errors with a stable machine-readable code. The code travels over HTTP as
 * `{"error": {"code", "message"}}` and is mapped back to a `PagletError` by clients.
 */

/** HTTP status for each error code; codes not listed map to 400. */
export const ERROR_STATUS: Record<string, number> = {
  bad_request: 400,
  malformed_json: 400,
  malformed_cbor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  agent_not_found: 404,
  artifact_not_found: 404,
  service_not_found: 404,
  operation_not_found: 404,
  route_not_found: 404,
  transfer_not_found: 404,
  host_not_found: 404,
  agent_inactive: 409,
  agent_busy: 409,
  state_conflict: 409,
  agent_moving: 409,
  transfer_refused: 409,
  mesh_version_mismatch: 409,
  payload_too_large: 413,
  quota_exceeded: 413,
  unsupported_media_type: 415,
  unknown_agent_type: 422,
  invalid_state: 422,
  invalid_request: 422,
  not_handled: 422,
  // compute-slots: a slot request or compute job estimate that cannot be accepted
  invalid_slot_request: 422,
  invalid_cpu_cores: 422,
  invalid_memory_bytes: 422,
  invalid_temp_storage_bytes: 422,
  invalid_estimated_runtime_seconds: 422,
  invalid_host_tag: 422,
  invalid_agent_id: 422,
  invalid_field: 422,
  /** A compute step's own code failed (the job's fault, not the host's). */
  compute_step_failed: 422,
  lease_not_found: 404,
  handler_failed: 422,
  // Runner tasks (agents/runner): the task's own error, its deadline, a cancel, a name that is no export
  task_failed: 422,
  task_timeout: 504,
  task_cancelled: 409,
  not_exported: 422,
  /** Every executor that could run a task was lost (host or worker gone) more often than it may retry. */
  executor_lost: 503,
  hook_failed: 422,
  agent_crashed: 409,
  checksum_mismatch: 422,
  host_unreachable: 502,
  transfer_failed: 502,
  draining: 503,
  /** The worker running the agent ended (terminated as stuck) while the call was under way. */
  worker_lost: 503,
  timeout: 504,
  transfer_pending: 504,
  internal: 500,
};

/** An error carrying a code from {@link ERROR_STATUS}. */
export class PagletError extends Error {
  readonly code: string;
  readonly details?: unknown;
  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = "PagletError";
    this.code = code;
    this.details = details;
  }

  /** The HTTP status this error answers with. */
  get status(): number {
    return ERROR_STATUS[this.code] ?? 400;
  }

  toWire(): { code: string; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error from its wire form (or wraps anything else). */
  static fromWire(wire: unknown): PagletError {
    if (wire && typeof wire === "object" && "code" in wire && "message" in wire) {
      const w = wire as { code: unknown; message: unknown; details?: unknown };
      return new PagletError(String(w.code), String(w.message), w.details);
    }
    return new PagletError("internal", String(wire));
  }

  /** Wraps any thrown value; keeps a PagletError as it is. */
  static from(err: unknown, code = "internal"): PagletError {
    if (err instanceof PagletError) return err;
    if (
      err && typeof err === "object" && "code" in err && "message" in err &&
      (err as unknown as Error).name === "PagletError"
    ) {
      return PagletError.fromWire(err);
    }
    return new PagletError(code, err instanceof Error ? err.message : String(err));
  }
}

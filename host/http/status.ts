/**
 * The HTTP status of every error code. The record is typed over the closed union of codes, so a
 * code added to agents/errors.ts without a status here fails the type check: no code falls back
 * to a status silently.
 */
import type { ErrorCode } from "../../agents/errors.ts";

export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
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
  lease_not_found: 404,
  agent_inactive: 409,
  agent_busy: 409,
  state_conflict: 409,
  agent_moving: 409,
  transfer_refused: 409,
  mesh_version_mismatch: 409,
  agent_crashed: 409,
  payload_too_large: 413,
  quota_exceeded: 413,
  unsupported_media_type: 415,
  headers_too_large: 431,
  unknown_agent_type: 422,
  invalid_state: 422,
  invalid_request: 422,
  not_handled: 422,
  not_supported: 422,
  invalid_slot_request: 422,
  invalid_cpu_cores: 422,
  invalid_memory_bytes: 422,
  invalid_temp_storage_bytes: 422,
  invalid_estimated_runtime_seconds: 422,
  invalid_host_tag: 422,
  invalid_agent_id: 422,
  invalid_field: 422,
  compute_step_failed: 422,
  handler_failed: 422,
  hook_failed: 422,
  run_failed: 422,
  checksum_mismatch: 422,
  port_in_use: 409,
  data_dir_in_use: 409,
  module_not_found: 422,
  module_load_failed: 422,
  host_unreachable: 502,
  transfer_failed: 502,
  starting: 503,
  draining: 503,
  too_many_connections: 503,
  worker_lost: 503,
  timeout: 504,
  transfer_pending: 504,
  internal: 500,
});

/** The HTTP status `code` answers with. */
export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

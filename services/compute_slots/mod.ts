/**
 * compute-slots: the pure scheduling core (admission, queue, leases, work
 * stealing, elastic CPU masks, usage history), and the resident service that
 * wires it to HTTP, gossip and the host's compute workers (`service.ts`; its
 * operations are declared in `contract.ts`, its CLI in `cli.ts`).
 *
 * @module
 */
export * from "./request.ts";
export * from "./host_status.ts";
export * from "./lease_table.ts";
export * from "./slot_queue.ts";
export * from "./peer_table.ts";
export * from "./candidates.ts";
export * from "./elastic_affinity.ts";
export * from "./usage_history.ts";
export * from "./scheduler_options.ts";
export * from "./decisions.ts";
export * from "./burst_gate.ts";
export * from "./oldest_fit.ts";
export * from "./work_stealing.ts";
export * from "./scheduler.ts";
export * from "./why.ts";
export { computeSlotsOptionsFromEnv, computeSlotsService } from "./service.ts";
export type { ComputeSlotsOptions } from "./service_config.ts";

/**
 * The paglets programming model: what paglet code imports (`import { Paglet } from "paglets"`).
 * @module
 */
export { isPagletClass, Paglet } from "./paglet.ts";
export type { LifecycleEvent, PagletClass } from "./paglet.ts";
export type {
  AgentRef,
  ComputeStepAffinity,
  ComputeStepOutcome,
  ComputeStepSpec,
  ContextEvent,
  CreateOptions,
  HostInfo,
  MeshHost,
  PagletContext,
  PersistentStorage,
  ServiceOffer,
  Severity,
} from "./context.ts";
export { PRIORITY_MAX, PRIORITY_MIN, PRIORITY_NORMAL, PRIORITY_UNQUEUED, toMessage } from "./message.ts";
export type { Message, MessageInput, SendOptions } from "./message.ts";
export { after, deactivationPolicy, DEFAULT_POLICY } from "./policy.ts";
export type { DeactivationPolicy, PolicyInput } from "./policy.ts";
export { FutureReply, ReplySet } from "./futures.ts";
export { cancel, every, later, orAfter, sleep } from "./timers.ts";
export type { Timer, TimerOptions } from "./timers.ts";
export { callOperation, handle, operation, routeOperations, validate } from "./operations.ts";
export type { Operation, OperationHandler } from "./operations.ts";
export { PagletError } from "./errors.ts";
export { isArtifactRef } from "./artifacts.ts";
export type { ArtifactRef } from "./artifacts.ts";
export { fromTagged, parseTagged, stringifyTagged, toTagged } from "./wire.ts";
export { decodeCbor, encodeCbor } from "./cbor.ts";
export { ComputeJobPaglet } from "./compute_job.ts";
export type { ComputeJobClass, ComputeJobSummary, SchedulerMessageReply } from "./compute_job.ts";
export type { AwakeSchedule } from "./awake_schedule.ts";
export { COMPUTE_STATUSES, computeJobDefaults, computeJobSchema } from "./compute_job_state.ts";
export type { ComputeJobState, ComputeStatus } from "./compute_job_state.ts";
export {
  EXECUTOR_TYPE,
  exportNameOf,
  progress,
  Runner,
  RunnerExecutor,
  RunnerFuture,
  setDefaultTaskModule,
  TaskError,
  taskModule,
} from "./runner/mod.ts";
export type {
  CodeRef,
  FutureArgs,
  FutureStatus,
  HashCodeRef,
  Progress,
  ProgressOptions,
  RunnerOptions,
  Service,
  ServiceOptions,
  Settled,
  TaskModule,
  UrlCodeRef,
} from "./runner/mod.ts";
export * from "./job_groups/mod.ts";
export { connect, installConnector } from "./connect.ts";
export type { Connector, Mesh } from "./connect.ts";
// What a script's jobs need from the SDK's dependencies: a script imports only "paglets".
export { z } from "zod";

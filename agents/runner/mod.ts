/**
 * The Runner: exported functions of a module run as tasks on leased cores of the mesh, with
 * futures, completion-order selection, cancellation and retries on lost executors. See
 * docs/runner.md.
 *
 * @module
 */
export { Runner, setDefaultTaskModule } from "./runner.ts";
export type { FutureArgs, RunnerOptions, Service, ServiceOptions, Settled } from "./runner.ts";
export { RunnerFuture, TaskError } from "./future.ts";
export type { FutureStatus } from "./future.ts";
export { exportNameOf, taskModule } from "./code_ref.ts";
export type { CodeRef, HashCodeRef, TaskModule, UrlCodeRef } from "./code_ref.ts";
export { progress } from "./progress.ts";
export type { Progress, ProgressOptions } from "./progress.ts";
export { EXECUTOR_TYPE, RunnerExecutor } from "./executor.ts";

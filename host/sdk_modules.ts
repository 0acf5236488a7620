/**
 * Paglet types of the SDK itself that every host knows, whatever extensions it runs: the result
 * collector of job groups (a group's jobs may report to a collector on any host of the mesh) and the
 * Runner's executor (a Runner opened anywhere places executors on any host).
 */
export const SDK_MODULES: readonly string[] = [
  new URL("../agents/job_groups/mod.ts", import.meta.url).href,
  new URL("../agents/runner/executor.ts", import.meta.url).href,
];

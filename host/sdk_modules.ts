/**
 * Paglet types of the SDK itself that every host knows, whatever extensions it runs: the result
 * collector of job groups (a group's jobs may report to a collector on any host of the mesh).
 */
export const SDK_MODULES: readonly string[] = [
  new URL("../agents/job_groups/mod.ts", import.meta.url).href,
];

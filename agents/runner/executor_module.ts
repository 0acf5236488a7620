/**
 * Where the Runner's executor paglet type lives, for hosts to load into their workers (a host
 * without it cannot run Runner executors). Imports nothing, so a CLI can name it before loading
 * anything else.
 *
 * @module
 */
export const RUNNER_EXECUTOR_MODULE: string = new URL("./executor.ts", import.meta.url).href;

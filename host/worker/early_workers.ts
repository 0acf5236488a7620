/**
 * Agent workers started before the host's code has loaded.
 *
 * A command that will start an embedded host calls {@link startWorkersEarly} first thing (main.ts,
 * before it imports the rest of the CLI): each worker then loads its modules on another core while
 * the main thread loads the host's. The host's WorkerPool takes them over ({@link takeEarlyWorker});
 * a command that finds a host to talk to instead ends them ({@link endEarlyWorkers}).
 *
 * This module imports nothing, so that calling it costs only the worker starts.
 *
 * @module
 */

/** Where the agent worker's code is (the pool starts its workers from the same URL). */
export const AGENT_WORKER_URL = new URL("./agent_worker.ts", import.meta.url).href;

/** A worker started early, and the error that ended it before a pool took it over, if one did. */
export interface EarlyWorker {
  readonly worker: Worker;
  failure: string | null;
}

const early: EarlyWorker[] = [];

/** A host's agent workers when none are asked for: one per CPU, at least 2 (host/options.ts). */
export function defaultWorkerCount(): number {
  return Math.max(2, navigator.hardwareConcurrency || 2);
}

/**
 * The first message a new agent worker gets: the modules to start importing at once, while the
 * host still opens its database (init names them again and finds them loaded or on the way).
 */
export function preloadModules(worker: Worker, modules: readonly string[]): void {
  if (modules.length > 0) worker.postMessage({ preload: [...modules] });
}

/** Starts `count` agent workers now, importing `modules`; the next pool to start takes them over. */
export function startWorkersEarly(count: number, modules: readonly string[] = []): void {
  for (let i = 0; i < count; i++) {
    const worker = new Worker(AGENT_WORKER_URL, { type: "module", name: `paglets-agent-worker-${i}` });
    preloadModules(worker, modules);
    const entry: EarlyWorker = { worker, failure: null };
    // An error that ends it before a pool takes it over (its modules failed to load) must not end
    // the process: the pool that takes it reports the failure instead.
    worker.onerror = (event) => {
      event.preventDefault();
      entry.failure = event.message;
    };
    early.push(entry);
  }
}

/** True while a worker started early waits for a pool to take it over. */
export function hasEarlyWorker(): boolean {
  return early.length > 0;
}

/** A worker started early (its modules may still be loading), if one is left. */
export function takeEarlyWorker(): EarlyWorker | undefined {
  return early.shift();
}

/** Ends the workers started early that no pool took over. */
export function endEarlyWorkers(): void {
  for (const { worker } of early.splice(0)) worker.terminate();
}

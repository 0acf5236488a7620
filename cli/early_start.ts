/**
 * Work a command can start before the CLI's own code has loaded: the commands that usually end up
 * running an embedded host (`examples`, `tour`), whose agents start at once, start its agent worker
 * first thing, so that it loads its modules on the other core while the main thread loads the CLI
 * and the host (see host/worker/early_workers.ts). `paglets host` starts none: an idle host holds
 * no worker, and its pool starts the first when an agent first needs one. Imports nothing else,
 * on purpose.
 *
 * @module
 */
import { endEarlyWorkers, startWorkersEarly } from "../host/worker/early_workers.ts";
import { EXAMPLE_MODULES } from "../examples/modules.ts";
import {
  endEarlyPiThreads,
  PI_ASSEMBLY_THREAD_URL,
  PI_BATCH_THREAD_URL,
  startPiThreadsEarly,
} from "../examples/pi/early_threads.ts";

/** Agent workers of an embedded host: it runs one command's paglets (see entry.ts). */
export const EMBEDDED_WORKERS = 1;

const EMBEDDING_COMMANDS = new Set(["examples", "tour"]);

/** Starts what the command in `args` will need, when it will (likely) start a host. */
export function startEarly(args: readonly string[]): void {
  if (args.includes("--help") || args.includes("-h")) return;
  // Not `host`: its pool starts its first worker when an agent first needs one.
  if (!EMBEDDING_COMMANDS.has(args[0] ?? "")) return;
  const named = args.some((a) => a === "-e" || a === "--entry" || a.startsWith("--entry=")) ||
    Boolean(Deno.env.get("PAGLETS_ENTRY"));
  if (named) return;
  startWorkersEarly(EMBEDDED_WORKERS, EXAMPLE_MODULES);
  if (args[0] === "examples" && args[1] === "pi") {
    // The threads a Pi job on this host computes on: a batch thread per core (two at most: the
    // pool starts more as larger jobs need them) and the assembly's.
    startPiThreadsEarly(PI_BATCH_THREAD_URL, Math.min(2, navigator.hardwareConcurrency || 1));
    startPiThreadsEarly(PI_ASSEMBLY_THREAD_URL, 1);
  }
}

/** Ends what {@link startEarly} started and nothing took over (a host answered, or the command ended). */
export function endEarly(): void {
  endEarlyWorkers();
  endEarlyPiThreads();
}

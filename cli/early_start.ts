/**
 * Work a command can start before the CLI's own code has loaded: the commands that usually end up
 * running an embedded host (`examples`, `tour`) start its agent worker first thing, so that the
 * worker loads its modules on another core while the main thread loads the CLI and the host
 * (see host/worker/early_workers.ts). Imports nothing else, on purpose.
 *
 * @module
 */
import { startWorkersEarly } from "../host/worker/early_workers.ts";
import { EXAMPLE_MODULES } from "../examples/modules.ts";

/** Agent workers of an embedded host: it runs one command's paglets (see entry.ts). */
export const EMBEDDED_WORKERS = 1;

const EMBEDDING_COMMANDS = new Set(["examples", "tour"]);

/** Starts what the command in `args` will need, when it will likely start an embedded host. */
export function startEarly(args: readonly string[]): void {
  if (!EMBEDDING_COMMANDS.has(args[0] ?? "")) return;
  const named = args.some((a) => a === "-e" || a === "--entry" || a.startsWith("--entry=")) ||
    Boolean(Deno.env.get("PAGLETS_ENTRY"));
  if (named || args.includes("--help") || args.includes("-h")) return;
  startWorkersEarly(EMBEDDED_WORKERS, EXAMPLE_MODULES);
}

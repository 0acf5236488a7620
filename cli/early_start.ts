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
import { startWorkersEarly } from "../host/worker/early_workers.ts";
import { EXAMPLE_MODULES } from "../examples/modules.ts";

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
}

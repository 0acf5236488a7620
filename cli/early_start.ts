/**
 * Work a command can start before the CLI's own code has loaded: the commands that run a host
 * (`host`) or usually end up running an embedded one (`examples`, `tour`) start its agent workers
 * first thing, so that the workers load their modules on other cores while the main thread loads
 * the CLI and the host (see host/worker/early_workers.ts). Imports nothing else, on purpose.
 *
 * @module
 */
import { defaultWorkerCount, startWorkersEarly } from "../host/worker/early_workers.ts";
import { EXAMPLE_MODULES } from "../examples/modules.ts";

/** Agent workers of an embedded host: it runs one command's paglets (see entry.ts). */
export const EMBEDDED_WORKERS = 1;

const EMBEDDING_COMMANDS = new Set(["examples", "tour"]);

/** Starts what the command in `args` will need, when it will (likely) start a host. */
export function startEarly(args: readonly string[]): void {
  if (args.includes("--help") || args.includes("-h")) return;
  if (args[0] === "host") {
    // The pool's first worker (it grows as agents need more). An invalid --workers is the
    // command's to report; nothing starts early then.
    if (hostWorkers(args) !== null) startWorkersEarly(1, EXAMPLE_MODULES);
    return;
  }
  if (!EMBEDDING_COMMANDS.has(args[0] ?? "")) return;
  const named = args.some((a) => a === "-e" || a === "--entry" || a.startsWith("--entry=")) ||
    Boolean(Deno.env.get("PAGLETS_ENTRY"));
  if (named) return;
  startWorkersEarly(EMBEDDED_WORKERS, EXAMPLE_MODULES);
}

/** The agent workers `paglets host` may start (its `--workers`, else the default); null if invalid. */
function hostWorkers(args: readonly string[]): number | null {
  const at = args.findIndex((a) => a === "--workers" || a.startsWith("--workers="));
  if (at < 0) return defaultWorkerCount();
  const value = Number(args[at].includes("=") ? args[at].slice("--workers=".length) : args[at + 1]);
  return Number.isInteger(value) && value >= 1 && value <= 64 ? value : null;
}

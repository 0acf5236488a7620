/**
 * SIGINT (Ctrl-C) and SIGTERM of a command that holds work others wait on: a script run by
 * `paglets run` (its job-group submissions and Runners end cleanly: agents/interruption.ts) and an
 * embedded host (stopped, its temporary data removed). The first signal runs the command's endings,
 * newest first, for at most {@link ENDING_MS} in all, then exits 130 (SIGINT) or 143 (SIGTERM). A
 * second signal, or endings that take too long, run only the quick parts (removing temporary data)
 * and exit at once.
 *
 * @module
 */
import { orAfter } from "../agents/timers.ts";

/** What a command does before it ends on a signal. */
export interface Ending {
  /** Ends the work cleanly. */
  end(): Promise<void>;
  /** What must happen even when there is no time to end cleanly (synchronous, quick). */
  now?(): void;
}

const ENDING_MS = 15_000;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
type Signal = typeof SIGNALS[number];
const EXIT_STATUS: Record<Signal, number> = { SIGINT: 130, SIGTERM: 143 };

/** How long the command's own ending (its error report) may take once its work has ended. */
const REPORT_MS = 2_000;

const endings: Ending[] = [];
let exiting: Promise<never> | null = null;
const commandDone = Promise.withResolvers<boolean>();
const listeners = Object.fromEntries(SIGNALS.map((s) => [s, () => onSignal(s)])) as Record<
  Signal,
  () => void
>;

function quickly(signal: Signal): never {
  for (const ending of [...endings].reverse()) {
    try {
      ending.now?.();
    } catch { /* exiting anyway */ }
  }
  Deno.exit(EXIT_STATUS[signal]);
}

function onSignal(signal: Signal): void {
  if (exiting) quickly(signal);
  console.error(
    `\nInterrupted: ending cleanly (${signal === "SIGINT" ? "Ctrl-C" : "SIGTERM"} again to quit at once).`,
  );
  exiting = (async () => {
    const ending = (async () => {
      for (const e of [...endings].reverse()) await e.end().catch(() => {});
    })();
    if (!await orAfter(ending.then(() => true), ENDING_MS, false)) {
      console.error(`Not ended after ${ENDING_MS / 1000} s: quitting.`);
      quickly(signal);
    }
    // What the command says of how its work ended (e.g. a submission interrupted after N jobs).
    await orAfter(commandDone.promise, REPORT_MS, false);
    Deno.exit(EXIT_STATUS[signal]);
  })();
}

/**
 * Registers `ending` while a command's work runs; returns the function that unregisters it. While
 * an ending is registered, SIGINT and SIGTERM end the command through it.
 */
export function whileRunning(ending: Ending): () => void {
  if (endings.length === 0) { for (const s of SIGNALS) Deno.addSignalListener(s, listeners[s]); }
  endings.push(ending);
  return () => {
    const at = endings.indexOf(ending);
    if (at >= 0) endings.splice(at, 1);
    if (endings.length === 0 && !exiting) {
      for (const s of SIGNALS) Deno.removeSignalListener(s, listeners[s]);
    }
  };
}

/**
 * The command has ended (reported its error, or returned). Once a signal is being handled, the
 * returned promise never settles: the signal's handler exits the process with its own status.
 */
export function commandEnded(): Promise<never> | null {
  commandDone.resolve(true);
  return exiting;
}

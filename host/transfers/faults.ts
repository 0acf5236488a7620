/**
 * Test-only fault points for crash tests of the handoff. `PAGLETS_FAULT=<point>` in a host's
 * environment makes the process exit at that point, as a SIGKILL there would:
 *
 * - `exit-after-store`: the target stored an arriving agent durably but has not acknowledged.
 * - `exit-before-send`: the source wrote its pending transfer but has not sent anything.
 * - `exit-after-send`: the source sent the agent and the target acknowledged, but the source has
 *   not processed the acknowledgement.
 */
export type FaultPoint = "exit-after-store" | "exit-before-send" | "exit-after-send";

/** Exits the process (code 75) when `PAGLETS_FAULT` names `point`. */
export function fault(point: FaultPoint): void {
  if (Deno.env.get("PAGLETS_FAULT") === point) {
    console.error(`PAGLETS_FAULT=${point}: exiting`);
    Deno.exit(75);
  }
}

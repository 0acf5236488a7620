/**
 * Test-only fault points for crash and stall tests of the handoff. `PAGLETS_FAULT=<point>` in a
 * host's environment makes the process exit at that point, as a SIGKILL there would:
 *
 * - `exit-after-store`: the target stored an arriving agent durably but has not acknowledged.
 * - `exit-before-send`: the source wrote its pending transfer but has not sent anything.
 * - `exit-after-send`: the source sent the agent and the target acknowledged, but the source has
 *   not processed the acknowledgement.
 *
 * or makes the target's spool (where arriving files are written) slow or stuck:
 *
 * - `slow-spool`: a slow disk. The spool takes at most 4 MiB a second, so a file of 16 MiB takes at
 *   least 4 s, and never stands still for long.
 * - `stall-spool`: a disk that hangs. The spool stops for good at the first byte of a file; the
 *   process lives on.
 */
import { sleep } from "../../agents/timers.ts";

export type FaultPoint = "exit-after-store" | "exit-before-send" | "exit-after-send";

/** Exits the process (code 75) when `PAGLETS_FAULT` names `point`. */
export function fault(point: FaultPoint): void {
  if (Deno.env.get("PAGLETS_FAULT") === point) {
    console.error(`PAGLETS_FAULT=${point}: exiting`);
    Deno.exit(75);
  }
}

/** How fast the spool takes a file under `slow-spool`, in bytes a second. */
export const SLOW_SPOOL_BYTES_PER_S = 4 << 20;

/** How the spool writes a chunk of an arriving file. */
export type SpoolWrite = (chunk: Uint8Array) => Promise<void>;

/**
 * `write` as the spool calls it for one file: slowed by `PAGLETS_FAULT=slow-spool`, stopped by
 * `stall-spool`, else `write` itself.
 */
export function spoolWrite(write: SpoolWrite): SpoolWrite {
  const point = Deno.env.get("PAGLETS_FAULT");
  if (point === "stall-spool") {
    return () => {
      console.error("PAGLETS_FAULT=stall-spool: the spool stops");
      return new Promise<void>(() => {});
    };
  }
  if (point !== "slow-spool") return write;
  let start = 0;
  let taken = 0;
  return async (chunk) => {
    if (taken === 0) {
      start = performance.now();
      console.error(`PAGLETS_FAULT=slow-spool: ${SLOW_SPOOL_BYTES_PER_S} bytes a second`);
    }
    taken += chunk.length;
    // Each chunk waits for its turn: the file's bytes cannot go faster than the rate, in total.
    const early = start + taken / SLOW_SPOOL_BYTES_PER_S * 1000 - performance.now();
    if (early >= 1) await sleep(Math.ceil(early));
    await write(chunk);
  };
}

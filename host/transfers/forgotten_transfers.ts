/**
 * What a target says of a transfer it has no ledger row of, when its source gives up on it
 * (`POST /v1/transfers/:id/abandon`). The row of an arrival is pruned after the retention, so "no
 * row" means either "never came" or "came and was forgotten": answering `refused` to the second
 * would have the source restore a paglet that lives on (here or where it went next).
 *
 * The source says how long ago it wrote the departure (`ageMs`, by its own clock: a duration, so
 * the two clocks need not agree); the target places that on its own clock and compares it with
 * how far it forgot arrivals (TransferLedger.forgottenThrough, its own clock too). Past the margin
 * of that comparison, the doubt goes to `forgotten`: so that a departure that never came is still
 * told `never` however short the retention, the ledger keeps arrivals' rows for the retention plus
 * that margin (a question asked within the retention after the departure gets a definite answer).
 *
 * @example
 * ```ts
 * import { unknownTransferVerdict } from "./forgotten_transfers.ts";
 * const now = Date.now();
 * // Departed a minute ago; this host forgot arrivals only up to a week ago: it never came.
 * unknownTransferVerdict({
 *   now, ageMs: 60_000, living: null, agentCreatedAt: undefined, forgottenThrough: now - 7 * 86_400_000,
 * });
 * // → "never"
 * ```
 */
import { millisecondsFromEnv } from "../env_ms.ts";

/**
 * How far the departure's time placed on the target's clock may be off: the question's way to the
 * target (which makes the departure look newer than it is) and a jump of either clock between the
 * departure and the question. Past it the verdict errs to the side of `forgotten`. The default of
 * `PAGLETS_CLOCK_MARGIN_MS` ({@link clockMarginFromEnv}).
 */
export const CLOCK_MARGIN_MS = 60_000;

/**
 * The clock margin of this host (the target's): `PAGLETS_CLOCK_MARGIN_MS` in its environment, a
 * positive integer of milliseconds, else {@link CLOCK_MARGIN_MS}; a bad value stops the start
 * with `invalid_request`.
 */
export function clockMarginFromEnv(): number {
  return millisecondsFromEnv("PAGLETS_CLOCK_MARGIN_MS", CLOCK_MARGIN_MS);
}

/**
 * `here`: the agent lives here: the transfer came (the departure left its only copy in flight).
 * `another`: a paglet of its id lives here that is not the one that left (created here with an id a
 * client chose): neither `stored` (the one that left would be lost) nor `refused` (two of one id)
 * is true. `forgotten`: it may have come before what this host forgot; it cannot say. `never`: it
 * did not come (a row of it would still be here): `refused` is safe.
 */
export type UnknownTransferVerdict = "here" | "another" | "forgotten" | "never";

/** What the target knows when a source gives up on transfer it has no row of. */
export interface UnknownTransferFacts {
  /** The target's clock now. */
  now: number;
  /** How long ago the source wrote the departure, by its clock; undefined from a source that does not say. */
  ageMs: number | undefined;
  /**
   * When the paglet of that id that lives here (it runs, or its record is active or inactive) was
   * created; null when none does. Not a `moving` record (a departure of this host's own, or an
   * arrival by another transfer), nor a forwarding record: it may be left by an earlier visit, and
   * when it was written says nothing of this transfer (a departure settled late writes it late).
   * Taken for "the transfer came", either made a paglet that lived nowhere.
   */
  living: number | null;
  /** When the paglet that left was created (a move keeps it); undefined from a source that does not say. */
  agentCreatedAt: number | undefined;
  /** TransferLedger.forgottenThrough: null when this host never pruned an arrival's row. */
  forgottenThrough: number | null;
  /** See {@link CLOCK_MARGIN_MS}. @default CLOCK_MARGIN_MS */
  marginMs?: number;
}

/** See {@link UnknownTransferVerdict}. */
export function unknownTransferVerdict(facts: UnknownTransferFacts): UnknownTransferVerdict {
  const { now, ageMs, living, agentCreatedAt, forgottenThrough, marginMs = CLOCK_MARGIN_MS } = facts;
  if (living !== null) return agentCreatedAt === undefined || agentCreatedAt === living ? "here" : "another";
  if (forgottenThrough === null) return "never";
  if (ageMs === undefined) return "forgotten";
  // The departure, on this clock, at the latest (the question's way here only makes it earlier).
  const departed = now - ageMs;
  return departed - marginMs <= forgottenThrough ? "forgotten" : "never";
}

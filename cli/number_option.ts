/**
 * Numeric option values checked where the user typed them: a value that is no number, or one out
 * of range, fails before any request with `invalid_request` (exit status 2), naming the option and
 * quoting the value back, instead of reaching a host as `NaN` or an out-of-range number.
 *
 * @module
 */
import { PagletError } from "../agents/errors.ts";

/** A decimal number as people type it (`3`, `-2.5`, `.5`, `1e3`), spaces around allowed. */
const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** The range an option's number must lie in. */
export interface NumberRange {
  /** The smallest value allowed. @default 0 */
  min?: number;
  /** The largest value allowed. @default Infinity */
  max?: number;
  /** Only whole numbers. @default false */
  integer?: boolean;
}

/**
 * A parser for option `flag` that takes a number in `range`.
 *
 * @example
 * ```ts
 * import { numberOption } from "./number_option.ts";
 * const priority = numberOption("--priority", { max: 10, integer: true });
 * priority("3"); // 3
 * // priority("abc") throws: --priority must be a whole number from 0 to 10: got 'abc'
 * ```
 */
export function numberOption(flag: string, range: NumberRange = {}): (value: string) => number {
  const { min = 0, max = Infinity, integer = false } = range;
  const kind = integer ? "a whole number" : "a number";
  const bounds = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
  return (value) => {
    // Decimal only: Number() would also read "0x10" as 16 and "0b11" as 3.
    const n = DECIMAL.test(value) ? Number(value) : NaN;
    const fits = Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n));
    if (!fits) throw new PagletError("invalid_request", `${flag} must be ${kind} ${bounds}: got '${value}'`);
    return n;
  };
}

/** The longest request timeout a host accepts (host/http/message_route.ts): one day. */
export const MAX_TIMEOUT_SECONDS = 86_400;

/** `--timeout <seconds>`: at least a millisecond, at most a day. */
export const timeoutSeconds: (value: string) => number = numberOption("--timeout", {
  min: 0.001,
  max: MAX_TIMEOUT_SECONDS,
});

/** Whole milliseconds of a `--timeout` in seconds (undefined stays undefined). */
export function timeoutMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
}

/**
 * Durations an operator (or a test) may set in the host's environment, in milliseconds: a bad
 * value stops the host's start with `invalid_request` naming the variable.
 *
 * @module
 */
import { PagletError } from "../agents/errors.ts";

/** `name`'s value as a positive whole number of milliseconds; `fallback` when unset or empty. */
export function millisecondsFromEnv(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text.trim() === "") return fallback;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new PagletError(
      "invalid_request",
      `${name} must be a positive integer of milliseconds: current value is '${text}'`,
    );
  }
  return ms;
}

/**
 * Keeps code that runs in a shared worker from ending it. `Deno.exit()` (and Node's
 * `process.exit()`, which calls it) and `close()` end a worker thread without a word to its parent:
 * whatever waited on that worker (other paglets' messages, a compute step's result) would wait for
 * ever. After {@link refuseWorkerExit}, they throw `invalid_request` instead.
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";

/** Makes `Deno.exit()` and `close()` throw in this worker; `instead` says what to do. */
export function refuseWorkerExit(instead: string): void {
  const refuse = (what: string) => (): never => {
    throw new PagletError("invalid_request", `${what} would end a worker the host shares; ${instead}`);
  };
  // Deno.exit is not writable, but can be redefined.
  Object.defineProperty(Deno, "exit", { value: refuse("Deno.exit()") });
  (globalThis as unknown as { close: () => void }).close = refuse("close()");
}

/**
 * Compute steps for the compute pool tests; they run inside compute workers.
 *
 * @module
 */
import { currentThreadCpus, threadId } from "../affinity.ts";

/** What the step itself sees of its thread while it runs. */
export function whereAmI(
  args: { spinMs?: number } = {},
): { tid: number | undefined; cpus: number[] | undefined } {
  const until = performance.now() + (args.spinMs ?? 0);
  while (performance.now() < until) {
    // Keep the thread busy so concurrent steps really overlap.
  }
  return { tid: threadId(), cpus: currentThreadCpus() };
}

export async function add(args: { a: number; b: number }): Promise<number> {
  await Promise.resolve();
  return args.a + args.b;
}

export function spinForever(): never {
  while (true) {
    // Only termination ends this step.
  }
}

export function fail(args: { message: string }): never {
  throw new RangeError(args.message);
}

export function unclonable(): () => void {
  return () => {};
}

export const notAFunction = 42;

/** Returns at once, and leaves an error behind that nothing catches. */
export function throwAfterReturning(args: { reject?: boolean }): number {
  if (args.reject) {
    void Promise.reject(new Error("rejected after the step"));
  } else {
    setTimeout(() => {
      throw new Error("thrown after the step");
    }, 0);
  }
  return 1;
}

/** Tries to end its worker. */
export function exitWorker(args: { how: "exit" | "close" }): void {
  if (args.how === "exit") Deno.exit(3);
  else (globalThis as unknown as { close(): void }).close();
}

/** An error nothing catches while the step still runs (its timer fires before the step's own). */
export async function throwWhileRunning(): Promise<number> {
  setTimeout(() => {
    throw new Error("thrown while the step ran");
  }, 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  return 1;
}

/** Waits (idle) until the file `path` exists, for a minute at most; returns `path`. */
export async function waitForFile(args: { path: string }): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (!(await Deno.stat(args.path).then(() => true, () => false))) {
    if (Date.now() > deadline) throw new Error(`${args.path} did not appear within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return args.path;
}

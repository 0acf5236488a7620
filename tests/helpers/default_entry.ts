/**
 * Tests of what a command does with no entry named: it talks to the default entry,
 * http://127.0.0.1:8765 (cli/entry.ts), and the main jobs start an embedded host when nothing
 * answers there. Such a test can run only while nothing listens on that port.
 *
 * Whether something listens is asked by connecting, never by binding the port: a bind holds the port
 * for a moment, and test files run side by side in one process (`deno test --parallel`, each with a
 * module graph of its own, so no lock in a module reaches the others): two binds at the same instant
 * make one file see the other's probe as a listener, and a command connecting in that moment meets
 * a port that is taken. Connections do not collide.
 *
 * @module
 */

/** The default entry's port (cli/entry.ts DEFAULT_ENTRY). */
export const DEFAULT_ENTRY_PORT = 8765;

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionRefused) return false;
    throw err;
  }
}

/**
 * Runs `fn` as the step `name` of `t` when nothing listens on the default entry's port; else the
 * step is reported ignored, and its name says why.
 */
export async function stepWithoutDefaultEntry(
  t: Deno.TestContext,
  name: string,
  fn: () => Promise<void>,
): Promise<void> {
  const taken = await listening(DEFAULT_ENTRY_PORT);
  await t.step({
    name: taken
      ? `${name} (ignored: something listens on 127.0.0.1:${DEFAULT_ENTRY_PORT}, the default entry)`
      : name,
    ignore: taken,
    fn,
  });
}

/** Options of {@link testWithoutDefaultEntry}. */
export interface DefaultEntryTestOptions {
  /** Ignore the test for another reason (an OS it cannot run on). @default false */
  ignore?: boolean;
}

/**
 * A test wholly about what a command does with no entry named: `fn` is its one step, run as
 * {@link stepWithoutDefaultEntry} runs it (reported ignored, saying why, when something listens on
 * the default entry's port).
 *
 * @example
 * ```ts
 * testWithoutDefaultEntry("paglets run starts an embedded host", async () => {
 *   const run = await paglets(["run", script]);
 *   assertEquals(run.code, 0, run.stderr);
 * });
 * ```
 */
export function testWithoutDefaultEntry(
  name: string,
  fn: () => Promise<void>,
  { ignore = false }: DefaultEntryTestOptions = {},
): void {
  Deno.test({ name, ignore, fn: (t) => stepWithoutDefaultEntry(t, "with no entry named", fn) });
}

/** paglets: the CLI entry point (`paglets --help`). */
import { startEarly } from "./cli/early_start.ts";

if (import.meta.main) {
  // Before the rest of the CLI loads (hence the dynamic imports below).
  startEarly(Deno.args);
  const { buildProgram } = await import("./cli/program.ts");
  const { reportError } = await import("./cli/output.ts");
  try {
    await (await buildProgram(Deno.args)).parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    // Commander printed its own message (help, version, or a usage error): only the status is left.
    const usage = (err as { code?: string }).code?.startsWith("commander.");
    if (usage) Deno.exit((err as { exitCode: number }).exitCode === 0 ? 0 : 2);
    Deno.exit(reportError(err));
  }
}

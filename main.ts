/** paglets: the CLI entry point (`paglets --help`). */
import { buildProgram } from "./cli/program.ts";
import { reportError } from "./cli/output.ts";

if (import.meta.main) {
  try {
    await buildProgram().parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    Deno.exit(reportError(err));
  }
}

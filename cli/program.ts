/** The `paglets` command line: one program, command groups registered beside their code. */
import { Command } from "commander";
import { VERSION } from "../host/version.ts";
import { registerAgentsCommand } from "./agents_command.ts";
import { registerHostCommand } from "./host_command.ts";
import { registerTourCommand } from "./tour_command.ts";

/** Command groups added by services and examples. */
export type CommandGroup = (program: Command) => void;
export const commandGroups: CommandGroup[] = [];

export function buildProgram(): Command {
  const program = new Command("paglets")
    .description("Mobile compute agents on a small mesh of machines")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .option("--no-color", "plain output");
  program.hook("preAction", (cmd) => {
    if (cmd.opts().color === false) Deno.env.set("NO_COLOR", "1");
  });
  registerHostCommand(program);
  registerAgentsCommand(program);
  registerTourCommand(program);
  for (const group of commandGroups) group(program);
  return program;
}

/** The `paglets` command line: one program, command groups registered beside their code. */
import { Command } from "commander";
import { VERSION } from "../host/version.ts";
import { registerAgentsCommand } from "./agents_command.ts";
import { registerArtifactsCommand } from "./artifacts_command.ts";
import { registerHostCommand } from "./host_command.ts";
import { registerMeshCommand } from "./mesh_command.ts";
import { registerTourCommand } from "./tour_command.ts";
import { registerSysCommand } from "../services/server_info/cli.ts";
import { registerMeshInfoCommands } from "../services/mesh_info/cli.ts";
import { registerFollowCommand } from "../services/user_info/cli.ts";
import { registerJobsCommands } from "../services/compute_slots/cli.ts";
import { registerPiCommand } from "../examples/pi/command.ts";

/** Command groups added by services and examples. */
export type CommandGroup = (program: Command) => void;
export const commandGroups: CommandGroup[] = [];

export function buildProgram(): Command {
  const program = new Command("paglets")
    .description("Mobile compute agents on a small mesh of machines")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    // Usage errors read like every other error of the CLI: `error [bad_request]: …`.
    .configureOutput({
      outputError: (text, write) => write(text.replace(/^error: /, "error [bad_request]: ")),
    })
    .option("--no-color", "plain output");
  program.hook("preAction", (cmd) => {
    if (cmd.opts().color === false) Deno.env.set("NO_COLOR", "1");
  });
  registerHostCommand(program);
  registerAgentsCommand(program);
  registerMeshCommand(program);
  registerTourCommand(program);
  registerArtifactsCommand(program);
  for (const group of commandGroups) group(program);
  // Last, so `mesh summary|targets` join the `mesh` group whoever created it.
  registerSysCommand(program);
  registerMeshInfoCommands(program);
  registerFollowCommand(program);
  registerJobsCommands(program);
  registerPiCommand(program);
  return program;
}

/**
 * The `paglets` command line: one program, command groups registered beside their code. A command
 * loads only its own group's code (every group is loaded for `--help`, `--version` and unknown
 * commands, so that those list them all).
 */
import { Command } from "./command.ts";
import { VERSION } from "../host/version.ts";

type Register = (program: Command) => void;

/** The command groups by their top-level name, each loaded on demand; in help order. */
const GROUPS: { name: string; load: () => Promise<Register[]> }[] = [
  { name: "host", load: async () => [(await import("./host_command.ts")).registerHostCommand] },
  { name: "agents", load: async () => [(await import("./agents_command.ts")).registerAgentsCommand] },
  {
    name: "mesh",
    // `mesh summary|targets` (mesh-info) join the `mesh` group created first.
    load: async () => [
      (await import("./mesh_command.ts")).registerMeshCommand,
      (await import("../services/mesh_info/cli.ts")).registerMeshInfoCommands,
    ],
  },
  { name: "tour", load: async () => [(await import("./tour_command.ts")).registerTourCommand] },
  {
    name: "artifacts",
    load: async () => [(await import("./artifacts_command.ts")).registerArtifactsCommand],
  },
  { name: "sys", load: async () => [(await import("../services/server_info/cli.ts")).registerSysCommand] },
  {
    name: "follow",
    load: async () => [(await import("../services/user_info/cli.ts")).registerFollowCommand],
  },
  {
    name: "jobs",
    load: async () => [(await import("../services/compute_slots/cli.ts")).registerJobsCommands],
  },
  { name: "run", load: async () => [(await import("./run_command.ts")).registerRunCommand] },
  {
    name: "examples",
    load: async () => [
      (await import("../examples/pi/command.ts")).registerPiCommand,
      (await import("../examples/analysis/command.ts")).registerAnalysisCommand,
      (await import("../examples/montecarlo/command.ts")).registerMonteCarloCommand,
    ],
  },
];

/** The program for `args`: the named command's group only, or every group when none is named. */
export async function buildProgram(args: readonly string[] = Deno.args): Promise<Command> {
  const program = new Command("paglets")
    .description("Mobile compute agents on a small mesh of machines")
    .version(VERSION)
    .option("--no-color", "plain output");
  program.hook("preAction", async (cmd, action) => {
    if (cmd.opts().color === false) Deno.env.set("NO_COLOR", "1");
    // `--entry NAME` names a host of the mesh: every command gets its URL.
    const entry = action.opts().entry;
    if (typeof entry === "string") {
      const { resolveEntryName } = await import("./entry.ts");
      action.setOptionValue("entry", await resolveEntryName(entry, action.opts()));
    }
  });
  const named = args.find((a) => !a.startsWith("-"));
  const only = GROUPS.find((g) => g.name === named);
  const registers = await Promise.all((only ? [only] : GROUPS).map((g) => g.load()));
  for (const register of registers.flat()) register(program);
  return program;
}

/**
 * The `paglets` command line: one program, command groups registered beside their code. A command
 * loads only its own group's code (every group is loaded for `--help`, `--version` and unknown
 * commands, so that those list them all).
 */
import { Command } from "./command.ts";
import { processVersion } from "./host_code.ts";
import { PagletError } from "../agents/errors.ts";

type Register = (program: Command) => void;

/**
 * A command group's module, imported by URL: Deno prepares the module graph of every literal
 * import() when the importing module loads, and every group's (the host's, the examples') would
 * cost each command that needs one group only. scripts/compile_includes.ts embeds them.
 */
const load = <M>(url: URL): Promise<M> => import(url.href);

/** The example commands (`paglets examples NAME`), each loaded on demand; in help order. */
const EXAMPLES: { name: string; load: () => Promise<Register> }[] = [
  {
    name: "pi",
    load: async () =>
      (await load<typeof import("../examples/pi/command.ts")>(
        new URL("../examples/pi/command.ts", import.meta.url),
      )).registerPiCommand,
  },
  {
    name: "analysis",
    load: async () =>
      (await load<typeof import("../examples/analysis/command.ts")>(
        new URL("../examples/analysis/command.ts", import.meta.url),
      )).registerAnalysisCommand,
  },
  {
    name: "montecarlo",
    load: async () =>
      (await load<typeof import("../examples/montecarlo/command.ts")>(
        new URL("../examples/montecarlo/command.ts", import.meta.url),
      )).registerMonteCarloCommand,
  },
];

/**
 * The command groups by their top-level name, each loaded on demand (given the arguments after the
 * name); in help order.
 */
const GROUPS: { name: string; load: (rest: readonly string[]) => Promise<Register[]> }[] = [
  {
    name: "host",
    load: async () => [
      (await load<typeof import("./host_command.ts")>(new URL("./host_command.ts", import.meta.url)))
        .registerHostCommand,
    ],
  },
  {
    name: "agents",
    load: async () => [
      (await load<typeof import("./agents_command.ts")>(new URL("./agents_command.ts", import.meta.url)))
        .registerAgentsCommand,
    ],
  },
  {
    name: "mesh",
    // `mesh summary|targets` (mesh-info) join the `mesh` group created first.
    load: async () => [
      (await load<typeof import("./mesh_command.ts")>(new URL("./mesh_command.ts", import.meta.url)))
        .registerMeshCommand,
      (await load<typeof import("../services/mesh_info/cli.ts")>(
        new URL("../services/mesh_info/cli.ts", import.meta.url),
      )).registerMeshInfoCommands,
    ],
  },
  {
    name: "tour",
    load: async () => [
      (await load<typeof import("./tour_command.ts")>(new URL("./tour_command.ts", import.meta.url)))
        .registerTourCommand,
    ],
  },
  {
    name: "artifacts",
    load: async () => [
      (await load<typeof import("./artifacts_command.ts")>(
        new URL("./artifacts_command.ts", import.meta.url),
      )).registerArtifactsCommand,
    ],
  },
  {
    name: "sys",
    load: async () => [
      (await load<typeof import("../services/server_info/cli.ts")>(
        new URL("../services/server_info/cli.ts", import.meta.url),
      )).registerSysCommand,
    ],
  },
  {
    name: "follow",
    load: async () => [
      (await load<typeof import("../services/user_info/cli.ts")>(
        new URL("../services/user_info/cli.ts", import.meta.url),
      )).registerFollowCommand,
    ],
  },
  {
    name: "jobs",
    load: async () => [
      (await load<typeof import("../services/compute_slots/cli.ts")>(
        new URL("../services/compute_slots/cli.ts", import.meta.url),
      )).registerJobsCommands,
    ],
  },
  {
    name: "run",
    load: async () => [
      (await load<typeof import("./run_command.ts")>(new URL("./run_command.ts", import.meta.url)))
        .registerRunCommand,
    ],
  },
  {
    name: "compile",
    load: () => Promise.resolve([(program: Command) => registerCompileCommand(program, compileFromSource)]),
  },
  {
    name: "examples",
    // `examples pi` loads the Pi command only (the others import much of the SDK); help lists all.
    load: async (rest) => {
      const examples = EXAMPLES.filter((e) => e.name === rest[0]);
      return await Promise.all((examples.length ? examples : EXAMPLES).map((e) => e.load()));
    },
  },
];

/** The program for `args`: the named command's group only, or every group when none is named. */
export { commandEnded } from "./signals.ts";

export async function buildProgram(args: readonly string[] = Deno.args): Promise<Command> {
  const program = new Command("paglets")
    .description("Mobile compute agents on a small mesh of machines")
    .version(processVersion)
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
  const rest = only ? args.slice(args.indexOf(only.name) + 1) : [];
  const registers = await Promise.all((only ? [only] : GROUPS).map((g) => g.load(rest)));
  for (const register of registers.flat()) register(program);
  return program;
}

/** The options of `paglets compile`, as scripts/compile.ts reads them. */
export interface CompileOptions {
  target?: string;
  output: string;
}

/**
 * `paglets compile`: defined here for `paglets --help` and `help compile`, and used by
 * scripts/compile.ts (where the launcher scripts/paglets sends `compile` before the CLI loads), which
 * gives it the action that builds.
 */
export function registerCompileCommand(
  program: Command,
  action: (options: CompileOptions) => Promise<void>,
): Command {
  return program
    .command("compile")
    .description(
      "Build the single paglets binary (dist/paglets) from this checkout with deno compile: main.ts, " +
        "the modules it loads at run time and the host's bundle",
    )
    .option(
      "--target <triple>",
      "target of `deno compile` (default: this machine), e.g. x86_64-unknown-linux-gnu",
    )
    .option("--output <file>", "the binary (a relative path is from the checkout)", "dist/paglets")
    .action(action);
}

/**
 * The action when `compile` reaches the CLI itself (`deno run main.ts compile`, or a compiled binary):
 * runs scripts/compile.ts of the checkout, which a compiled binary does not carry.
 */
async function compileFromSource(options: CompileOptions): Promise<void> {
  const root = new URL("..", import.meta.url).pathname;
  const script = `${root}scripts/compile.ts`;
  try {
    await Deno.stat(script);
  } catch {
    throw new PagletError(
      "invalid_request",
      "compile builds the binary from a source checkout: run `scripts/paglets compile` there",
    );
  }
  const args = ["run", "--quiet", "--allow-all", "--config", `${root}deno.json`, script];
  if (options.target) args.push("--target", options.target);
  args.push("--output", options.output);
  const { code } = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" })
    .output();
  if (code !== 0) Deno.exit(code);
}

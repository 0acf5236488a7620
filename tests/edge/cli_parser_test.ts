/** The CLI's command parser (cli/command.ts): the forms users type, and clear usage errors. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { CliExit, Command, UsageError } from "../../cli/command.ts";

/** The error `run` fails with, which must be a `kind`. */
async function assertRejects<E extends Error>(
  run: () => Promise<unknown>,
  kind: new (...args: never[]) => E,
): Promise<E> {
  try {
    await run();
  } catch (err) {
    assert(err instanceof kind, `expected a ${kind.name}, got ${err}`);
    return err;
  }
  throw new Error(`expected a ${kind.name}, but it succeeded`);
}

/** A small program like the CLI's; `ran` gets each action's arguments. */
function program(ran: unknown[][]) {
  const root = new Command("paglets").version("1.2.3").option("--no-color", "plain output");
  const group = root.command("jobs").description("Jobs");
  group.command("rm [ids...]").alias("remove")
    .option("-f, --force", "really")
    .option("-e, --entry <url>", "host")
    .option("--tag <tag...>", "tags")
    .option("--peer <url>", "repeatable", (v: string, prev: string[]) => [...prev, v], [])
    .option("--port <n>", "port", Number, 8765)
    .action((ids: string[], o: Record<string, unknown>) => void ran.push([ids, o]));
  root.command("run <file> [args...]").action((file: string, args: string[], o: unknown) =>
    void ran.push([file, args, o])
  );
  return root;
}

Deno.test("options in every form, defaults, repeatable and variadic values, and -- for the rest", async () => {
  const ran: unknown[][] = [];
  await program(ran).parseAsync([
    "jobs",
    "rm",
    "a",
    "-f",
    "--entry=http://x",
    "b",
    "--peer",
    "p1",
    "--peer=p2",
  ]);
  await program(ran).parseAsync([
    "--no-color",
    "jobs",
    "remove",
    "-ehttp://y",
    "--tag",
    "t1",
    "t2",
    "--port",
    "1",
  ]);
  await program(ran).parseAsync(["run", "s.ts", "--", "--not-an-option", "x"]);
  assertEquals(ran[0], [["a", "b"], { port: 8765, peer: ["p1", "p2"], force: true, entry: "http://x" }]);
  assertEquals(ran[1], [[], { port: 1, peer: [], entry: "http://y", tag: ["t1", "t2"] }]);
  assertEquals(ran[2], ["s.ts", ["--not-an-option", "x"], {}]);
});

Deno.test("usage errors say what is wrong and which help to read", async () => {
  const cases: [string[], RegExp, string][] = [
    [["jobz"], /unknown command 'jobz' \(Did you mean jobs\?\)/, "paglets --help"],
    [
      ["jobs", "rm", "--forse"],
      /unknown option '--forse' \(Did you mean --force\?\)/,
      "paglets jobs rm --help",
    ],
    [["jobs", "rm", "--entry"], /option '-e, --entry <url>' argument missing/, "paglets jobs rm --help"],
    [["jobs", "rm", "-f=yes"], /option '-f, --force' takes no value/, "paglets jobs rm --help"],
    [["run"], /missing required argument 'file'/, "paglets run --help"],
    [["jobs", "help", "nope"], /unknown command 'nope'/, "paglets jobs --help"],
  ];
  for (const [args, message, help] of cases) {
    const err = await assertRejects(() => program([]).parseAsync(args), UsageError);
    assert(message.test(err.message), `${args.join(" ")}: ${err.message}`);
    assertEquals([err.code, err.helpCommand], ["bad_request", help]);
  }
  const leaf = new Command("x");
  leaf.command("one <a>").action(() => {});
  const extra = await assertRejects(() => leaf.parseAsync(["one", "a", "b"]), UsageError);
  assert(/too many arguments for 'one'/.test(extra.message), extra.message);
});

Deno.test("help, help [command] and --version end the program with status 0; a bare group with 2", async () => {
  for (const args of [["--help"], ["jobs", "rm", "-h"], ["help", "jobs"], ["--version"]]) {
    const exit = await assertRejects(() => program([]).parseAsync(args), CliExit);
    assertEquals(exit.exitCode, 0, args.join(" "));
  }
  assertEquals((await assertRejects(() => program([]).parseAsync(["jobs"]), CliExit)).exitCode, 2);
  const help = program([]).commands[0].commands[0].helpInformation();
  assert(help.startsWith("Usage: paglets jobs rm [options] [ids...]\n"), help);
  assert(/--port <n> +port \(default: 8765\)/.test(help) && !/--peer.*default/.test(help), help);
});

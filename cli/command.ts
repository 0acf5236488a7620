/**
 * The CLI's command tree and argument parser: commands with subcommands, positional arguments
 * (`<required>`, `[optional]`, `[rest...]`), options (`-s, --long <value>`, `[value]`, `<values...>`,
 * `--no-flag`), `--help` on every command, `help [command]`, `--version`, and usage errors that name
 * the command whose help to read.
 *
 * Our own rather than commander: commander is CommonJS, and requiring it starts Deno's Node module
 * loader and its polyfills (fs, child_process, events, process), 150 ms of CPU in every command
 * (docs/performance.md, start-up). The calls mirror the subset of commander's API the commands use.
 *
 * @module
 */
import { type ErrorCode, PagletError } from "../agents/errors.ts";
import { helpText } from "./command_help.ts";
import { numberOption } from "./number_option.ts";

/**
 * A usage error (unknown command or option, missing argument: `bad_request`; an option value its
 * parser refuses: `invalid_request`): exit status 2, with a hint.
 */
export class UsageError extends PagletError {
  /** The command line that names the command whose help explains the usage. */
  readonly helpCommand: string;
  constructor(message: string, command: Command, code: ErrorCode = "bad_request") {
    super(code, message);
    this.helpCommand = `${command.path()} --help`;
  }
}

/** Help or the version was printed: the program ends with `exitCode` (0; 2 for a missing command). */
export class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** A parser of an option's value: gets the text and the value so far (the default at first). */
// deno-lint-ignore no-explicit-any -- each option's parser types the value it accumulates
export type OptionParser = (value: string, previous: any) => unknown;

/** One option: its flags, what it takes, its default and its parser. */
export class Option {
  readonly flags: string;
  readonly short?: string;
  readonly long: string;
  /** The key in `opts()`: the long name without `no-`, in camelCase. */
  readonly attribute: string;
  /** `--no-x`: sets x to false (x is true by default). */
  readonly negate: boolean;
  /** Takes a value: `<v>` always the next argument, `[v]` only one that is not an option. */
  readonly value: "required" | "optional" | null;
  /** `<values...>`: the following arguments up to the next option are values too. */
  readonly variadic: boolean;
  description: string;
  defaultValue: unknown;
  parser?: OptionParser;

  constructor(flags: string, description = "") {
    this.flags = flags;
    this.description = description;
    const match = /^(?:-([A-Za-z]),\s*)?--([a-z0-9][a-z0-9-]*)(?:\s+([<[])([^\]>]+)[\]>])?$/.exec(
      flags.trim(),
    );
    if (!match) throw new Error(`Cannot define option '${flags}': expected '-s, --long <value>'`);
    const [, short, long, bracket, name] = match;
    this.short = short ? `-${short}` : undefined;
    this.long = `--${long}`;
    this.negate = long.startsWith("no-");
    this.attribute = camelCase(this.negate ? long.slice(3) : long);
    this.value = bracket === "<" ? "required" : bracket === "[" ? "optional" : null;
    this.variadic = Boolean(name?.endsWith("..."));
    this.defaultValue = this.negate ? true : undefined;
  }

  default(value: unknown): this {
    this.defaultValue = value;
    return this;
  }

  argParser(parser: OptionParser): this {
    this.parser = parser;
    return this;
  }
}

/** A positional argument: `<name>` required, `[name]` optional, `...` takes the rest. */
export interface Argument {
  name: string;
  required: boolean;
  variadic: boolean;
  description: string;
}

// deno-lint-ignore no-explicit-any -- each command's action types its arguments and options
type Action = (...args: any[]) => unknown;
type Hook = (hookCommand: Command, actionCommand: Command) => unknown;

export class Command {
  readonly commands: Command[] = [];
  readonly options: Option[] = [];
  readonly arguments: Argument[] = [];
  readonly parent: Command | null;
  readonly aliases: string[] = [];
  #name: string;
  #description = "";
  #action: Action | null = null;
  #hooks: Hook[] = [];
  #version: string | (() => string) | null = null;
  #values: Record<string, unknown> = {};

  constructor(name = "", parent: Command | null = null) {
    this.#name = name;
    this.parent = parent;
  }

  name(): string {
    return this.#name;
  }

  /** The command line up to this command: `paglets jobs queue`. */
  path(): string {
    return this.parent ? `${this.parent.path()} ${this.#name}` : this.#name;
  }

  /** Adds a subcommand: `name <arg> [more...]`; returns it. */
  command(spec: string): Command {
    const [name, ...args] = spec.trim().split(/\s+/);
    const sub = new Command(name, this);
    for (const arg of args) sub.argument(arg);
    this.commands.push(sub);
    return sub;
  }

  description(): string;
  description(text: string): this;
  description(text?: string): string | this {
    if (text === undefined) return this.#description;
    this.#description = text;
    return this;
  }

  alias(name: string): this {
    this.aliases.push(name);
    return this;
  }

  argument(spec: string, description = ""): this {
    const match = /^([<[])([^\]>]+)[\]>]$/.exec(spec);
    if (!match) throw new Error(`Cannot define argument '${spec}': expected <name> or [name]`);
    const variadic = match[2].endsWith("...");
    this.arguments.push({
      name: variadic ? match[2].slice(0, -3) : match[2],
      required: match[1] === "<",
      variadic,
      description,
    });
    return this;
  }

  /**
   * Adds an option. The third argument is a parser (then the fourth is the default) or the default.
   */
  option(flags: string, description: string, parser: OptionParser, defaultValue?: unknown): this;
  option(flags: string, description?: string, defaultValue?: unknown): this;
  option(flags: string, description = "", parserOrDefault?: unknown, defaultValue?: unknown): this {
    const option = new Option(flags, description);
    if (typeof parserOrDefault === "function") {
      option.argParser(parserOrDefault as OptionParser);
      if (defaultValue !== undefined) option.default(defaultValue);
    } else if (parserOrDefault !== undefined) {
      option.default(parserOrDefault);
    }
    return this.addOption(option);
  }

  addOption(option: Option): this {
    this.options.push(option);
    return this;
  }

  action(fn: Action): this {
    this.#action = fn;
    return this;
  }

  /** Runs `fn(this, command)` before the action of this command or of any below it. */
  hook(event: "preAction", fn: Hook): this {
    if (event !== "preAction") throw new Error(`Cannot hook '${event}': only preAction is known`);
    this.#hooks.push(fn);
    return this;
  }

  /** `-V, --version` prints `version` (a function is asked only then). */
  version(version: string | (() => string)): this {
    this.#version = version;
    return this;
  }

  get hasVersion(): boolean {
    return this.#version !== null;
  }

  get versionText(): string | null {
    return typeof this.#version === "function" ? this.#version() : this.#version;
  }

  /** Option values by attribute, defaults included. */
  // deno-lint-ignore no-explicit-any -- option values are typed where a command reads them
  opts(): Record<string, any> {
    const values: Record<string, unknown> = {};
    for (const option of this.options) {
      if (option.defaultValue !== undefined) values[option.attribute] = option.defaultValue;
    }
    return Object.assign(values, this.#values);
  }

  setOptionValue(key: string, value: unknown): this {
    this.#values[key] = value;
    return this;
  }

  helpInformation(): string {
    return helpText(this);
  }

  /**
   * Parses `argv` (the arguments after the program name) and runs the chosen command's action.
   * Throws {@linkcode UsageError} for bad usage and {@linkcode CliExit} after printing help or the
   * version; errors of the action propagate as they are.
   */
  async parseAsync(argv: readonly string[]): Promise<void> {
    const { command, positionals } = this.#route([...argv]);
    const args = command.#positionals(positionals);
    for (const owner of [...command.#lineage()].reverse()) {
      for (const hook of owner.#hooks) await hook(owner, command);
    }
    await command.#action!(...args, command.opts(), command);
  }

  /** The commands from this one up to the root. */
  *#lineage(): Generator<Command> {
    yield this;
    if (this.parent) yield* this.parent.#lineage();
  }

  /** Finds the command `argv` names, setting option values on the way; returns its operands. */
  #route(argv: string[]): { command: Command; positionals: string[] } {
    const positionals: string[] = [];
    let variadic: { command: Command; option: Option } | null = null;
    while (argv.length > 0) {
      const arg = argv.shift()!;
      if (arg === "--") {
        positionals.push(...argv);
        break;
      }
      if (arg.length > 1 && arg.startsWith("-")) {
        variadic = this.#takeOption(arg, argv);
        continue;
      }
      if (variadic) {
        variadic.command.#store(variadic.option, arg);
        continue;
      }
      if (this.commands.length > 0 && positionals.length === 0) {
        if (arg === "help") this.#helpFor(argv);
        const sub = this.#sub(arg);
        if (sub) return sub.#route(argv);
        if (!this.#action) throw new UsageError(unknownCommand(this, arg), this);
      }
      positionals.push(arg);
    }
    if (!this.#action) {
      // A group named without one of its commands: its help, as a usage error.
      write(Deno.stderr, this.helpInformation());
      throw new CliExit(2);
    }
    return { command: this, positionals };
  }

  /** Handles one option argument (and its value); returns the option if more values may follow. */
  #takeOption(arg: string, argv: string[]): { command: Command; option: Option } | null {
    if (arg === "-h" || arg === "--help") {
      write(Deno.stdout, this.helpInformation());
      throw new CliExit(0);
    }
    const root = [...this.#lineage()].pop()!;
    if ((arg === "-V" || arg === "--version") && root.#version) {
      console.log(root.versionText);
      throw new CliExit(0);
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg.startsWith("--") ? arg : arg.slice(0, 2);
    let inline: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (!arg.startsWith("--") && arg.length > 2) inline = arg.slice(2);
    for (const owner of this.#lineage()) {
      const option = owner.options.find((o) => o.long === flag || o.short === flag);
      if (!option) continue;
      if (option.value === null) {
        if (inline !== undefined) throw new UsageError(`option '${option.flags}' takes no value`, this);
        owner.#values[option.attribute] = !option.negate;
        return null;
      }
      let value = inline;
      if (value === undefined && (option.value === "required" || !(argv[0] ?? "-").startsWith("-"))) {
        value = argv.shift();
      }
      if (value === undefined && option.value === "required") {
        throw new UsageError(`option '${option.flags}' argument missing`, this);
      }
      if (value === undefined) owner.#values[option.attribute] = true;
      else owner.#store(option, value);
      return option.variadic ? { command: owner, option } : null;
    }
    throw new UsageError(`unknown option '${flag}'${suggestion(flag, this.#knownFlags())}`, this);
  }

  /** Stores one value of `option`: through its parser, else as text (a list when variadic). */
  #store(option: Option, value: string): void {
    const previous = Object.hasOwn(this.#values, option.attribute)
      ? this.#values[option.attribute]
      : option.defaultValue;
    if (option.parser) {
      this.#values[option.attribute] = this.#parse(option, value, previous);
    } else if (option.variadic) {
      const given = Object.hasOwn(this.#values, option.attribute) ? previous as string[] : [];
      this.#values[option.attribute] = [...given, value];
    } else {
      this.#values[option.attribute] = value;
    }
  }

  /**
   * `value` through `option`'s parser. The builtin `Number` takes a number >= 0 only (every numeric
   * option counts or measures something; one with other bounds has a parser of its own). A value the
   * parser refuses is the user's mistake whatever the parser threw: `invalid_request`, naming the
   * option; only a parser's own PagletError of another code (not input) passes as it is.
   */
  #parse(option: Option, value: string, previous: unknown): unknown {
    const parser: OptionParser = option.parser === Number ? numberOption(option.long) : option.parser!;
    try {
      return parser(value, previous);
    } catch (err) {
      const code = err instanceof PagletError ? err.code : "invalid_request";
      if (code !== "invalid_request" && code !== "bad_request") throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new UsageError(
        message.includes(option.long) ? message : `${option.long}: ${message}`,
        this,
        code,
      );
    }
  }

  /** The subcommand called `name` (or so aliased). */
  #sub(name: string): Command | undefined {
    return this.commands.find((c) => c.#name === name || c.aliases.includes(name));
  }

  #knownFlags(): string[] {
    const flags = ["--help"];
    for (const owner of this.#lineage()) for (const o of owner.options) flags.push(o.long);
    return flags;
  }

  /** `help [command]`: the help of the named subcommand, or of this command. */
  /** `help [NAME...]`: the help of the command the names lead to (`help agents ls`), down from here. */
  #helpFor(names: readonly string[]): never {
    const [name, ...rest] = names;
    if (name === undefined || name.startsWith("-")) {
      write(Deno.stdout, this.helpInformation());
      throw new CliExit(0);
    }
    const sub = this.#sub(name);
    if (!sub) throw new UsageError(unknownCommand(this, name), this);
    return sub.#helpFor(rest);
  }

  /** The action's leading arguments: one per declared argument (a list for the variadic one). */
  #positionals(given: string[]): unknown[] {
    const args: unknown[] = [];
    for (const [i, arg] of this.arguments.entries()) {
      if (arg.variadic) {
        if (arg.required && given.length <= i) this.#missing(arg);
        args.push(given.slice(i));
        return args;
      }
      if (arg.required && given.length <= i) this.#missing(arg);
      args.push(given[i]);
    }
    if (given.length > this.arguments.length) {
      throw new UsageError(
        `too many arguments for '${this.#name}': expected ${this.arguments.length}, got ${given.length} ` +
          `(${given.slice(this.arguments.length).map((a) => `'${a}'`).join(", ")} left over)`,
        this,
      );
    }
    return args;
  }

  #missing(arg: Argument): never {
    throw new UsageError(`missing required argument '${arg.name}'`, this);
  }
}

function write(stream: typeof Deno.stdout, text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length;) at += stream.writeSync(bytes.subarray(at));
}

function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function unknownCommand(command: Command, name: string): string {
  const names = command.commands.flatMap((c) => [c.name(), ...c.aliases]);
  return `unknown command '${name}'${suggestion(name, names)}`;
}

/** ` (Did you mean x?)` for the closest candidate within two edits, else nothing. */
function suggestion(word: string, candidates: string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best ? ` (Did you mean ${best}?)` : "";
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * Ends the process after a command threw: help or the version was printed (`CliExit`: its status);
 * anything else is reported with its code, a usage error with the hint to its help.
 */
export async function exitAfter(err: unknown): Promise<never> {
  if (err instanceof CliExit) Deno.exit(err.exitCode);
  const { reportError } = await import("./output.ts");
  const status = reportError(err);
  if (err instanceof UsageError) console.error(`(run '${err.helpCommand}' for usage)`);
  // A command ended by a signal (what failed was the signal's doing): the signal's ending exits.
  const { commandEnded } = await import("./signals.ts");
  await commandEnded();
  Deno.exit(status);
}

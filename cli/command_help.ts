/**
 * The text of `--help` for a command (cli/command.ts): usage, description, arguments, options and
 * subcommands, in two columns wrapped at 80 characters.
 *
 * @module
 */
import type { Command } from "./command.ts";

const WIDTH = 80;

export function helpText(command: Command): string {
  const options: [string, string][] = command.options.map((o) => [o.flags, optionDescription(o)]);
  const root = !command.parent;
  if (root && command.hasVersion) options.unshift(["-V, --version", "output the version number"]);
  options.push(["-h, --help", "display help for command"]);
  const commands: [string, string][] = command.commands.map((c) => [commandTerm(c), c.description()]);
  if (commands.length > 0) commands.push(["help [command]", "display help for command"]);
  const args: [string, string][] = command.arguments.filter((a) => a.description)
    .map((a) => [a.name, a.description]);
  const pad = Math.max(0, ...[...options, ...commands, ...args].map(([term]) => term.length));
  const sections = [`Usage: ${usage(command)}`];
  if (command.description()) sections.push(wrapWords(command.description(), WIDTH).join("\n"));
  if (args.length > 0) sections.push(`Arguments:\n${columns(args, pad)}`);
  sections.push(`Options:\n${columns(options, pad)}`);
  if (commands.length > 1) sections.push(`Commands:\n${columns(commands, pad)}`);
  return sections.join("\n\n") + "\n";
}

function optionDescription(option: Command["options"][number]): string {
  const shown = option.defaultValue;
  const plain = shown === undefined || option.negate ||
    (Array.isArray(shown) && shown.length === 0) ||
    (typeof shown === "object" && shown !== null && Object.keys(shown).length === 0);
  return plain ? option.description : `${option.description} (default: ${JSON.stringify(shown)})`;
}

function usage(command: Command): string {
  const parts = [command.path(), "[options]"];
  if (command.commands.length > 0) parts.push("[command]");
  parts.push(...command.arguments.map(argumentTerm));
  return parts.join(" ");
}

function commandTerm(command: Command): string {
  const name = [command.name(), ...command.aliases].join("|");
  const options = command.options.length > 0 ? " [options]" : "";
  const args = command.arguments.map((a) => ` ${argumentTerm(a)}`).join("");
  return `${name}${options}${args}`;
}

function argumentTerm(arg: Command["arguments"][number]): string {
  const name = arg.variadic ? `${arg.name}...` : arg.name;
  return arg.required ? `<${name}>` : `[${name}]`;
}

/** Terms padded to one column, descriptions wrapped beside them. */
function columns(rows: [string, string][], pad: number): string {
  const indent = 2 + pad + 2;
  const room = Math.max(20, WIDTH - indent);
  return rows.map(([term, description]) => {
    const lines = wrapWords(description, room);
    const first = `  ${term.padEnd(pad)}  ${lines[0] ?? ""}`.trimEnd();
    return [first, ...lines.slice(1).map((l) => " ".repeat(indent) + l)].join("\n");
  }).join("\n");
}

function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

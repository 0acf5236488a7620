/** Output helpers: tables for people, JSON for scripts, errors with their code. */
import { PagletError } from "../agents/errors.ts";
import { stringifyTagged, toTagged } from "../agents/wire.ts";
import { renderTable } from "./table.ts";

/**
 * Colours when stdout is a terminal (or FORCE_COLOR or CI is set), unless NO_COLOR or --no-color.
 * Our own few lines rather than an npm package: the one we used asked Node's `process.stdout`
 * whether it is a terminal, which builds Node's stream machinery at every command's start
 * (15-25 ms of a reading command).
 */
const COLOR = !Deno.noColor && !Deno.args.includes("--no-color") &&
  (Boolean(Deno.env.get("FORCE_COLOR")) || Boolean(Deno.env.get("CI")) ||
    (Deno.stdout.isTerminal() && Deno.env.get("TERM") !== "dumb"));

/** An ANSI style; a nested style that ends with the same code is started again after its end. */
function style(start: number, end: number): (text: unknown) => string {
  const on = `\x1b[${start}m`;
  const off = `\x1b[${end}m`;
  return (text) => COLOR ? on + String(text).replaceAll(off, off + on) + off : String(text);
}

export const pc = {
  bold: style(1, 22),
  dim: style(2, 22),
  red: style(31, 39),
  green: style(32, 39),
  yellow: style(33, 39),
  cyan: style(36, 39),
};

export function printJson(value: unknown): void {
  console.log(JSON.stringify(toTagged(value), null, 2));
}

/** Prints rows as a table with the given columns (`key` or `[key, heading]`). */
export function printTable(rows: Record<string, unknown>[], columns: (string | [string, string])[]): void {
  const cols = columns.map((c) => typeof c === "string" ? [c, c] : c);
  const head = cols.map(([, h]) => pc.cyan(h));
  console.log(renderTable(head, rows.map((row) => cols.map(([k]) => cell(row[k])))));
}

export function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return stringifyTagged(value);
  return String(value);
}

/** Codes that mean the user's input was wrong: exit status 2. */
const USER_INPUT_CODES = new Set(["invalid_request", "bad_request", "malformed_json"]);

/** Reports an error for people (code + message) and returns the exit code. */
export function reportError(err: unknown): number {
  const error = PagletError.from(err);
  console.error(`${pc.red("error")} [${error.code}]: ${error.message}`);
  return USER_INPUT_CODES.has(error.code) ? 2 : 1;
}

/** `text` broken at spaces into lines of at most `width` characters (for a table cell). */
export function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = "";
    }
    line = line ? `${line} ${word}` : word;
    while (line.length > width) {
      lines.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line) lines.push(line);
  return lines.join("\n");
}

/** Human bytes: 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

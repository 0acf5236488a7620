/**
 * JSON objects given on the command line: inline (`--args '{"n":1}'`), from a file (`--args @in.json`)
 * or from standard input (`--args -`), for arguments too large for a shell word.
 */
import { PagletError } from "../agents/errors.ts";
import { parseTagged } from "../agents/wire.ts";

/**
 * The object `text` names (undefined stays undefined): JSON that does not parse is `malformed_json`,
 * an unreadable file or a value that is not an object `invalid_request`.
 */
export async function readJsonObject(
  text: string | undefined,
  what: string,
): Promise<Record<string, unknown> | undefined> {
  if (text === undefined) return undefined;
  const source = await sourceOf(text, what);
  let value: unknown;
  try {
    value = parseTagged(source);
  } catch (err) {
    throw new PagletError("malformed_json", `${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new PagletError("invalid_request", `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

async function sourceOf(text: string, what: string): Promise<string> {
  if (text === "-") return await new Response(Deno.stdin.readable).text();
  if (!text.startsWith("@")) return text;
  const path = text.slice(1);
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new PagletError(
      "invalid_request",
      `${what} @${path}: cannot read the file: ${(err as Error).message}`,
    );
  }
}

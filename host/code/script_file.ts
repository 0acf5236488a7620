/** The file a user names to `paglets run`, checked before anything starts (a host, the bundler). */
import { resolve } from "../../agents/paths.ts";
import { PagletError } from "../../agents/errors.ts";

/** `entry` resolved to an absolute path, once it is a readable file: else `not_found` or `invalid_request`. */
export async function checkScriptFile(entry: string): Promise<string> {
  const file = resolve(entry);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch {
    throw new PagletError("not_found", `Script ${entry} not found (looked at ${file})`);
  }
  if (!info.isFile) {
    throw new PagletError("invalid_request", `Script ${entry} is not a file: name a .ts or .js file`);
  }
  try {
    (await Deno.open(file, { read: true })).close();
  } catch (err) {
    throw new PagletError("invalid_request", `Script ${entry} cannot be read: ${(err as Error).message}`);
  }
  return file;
}

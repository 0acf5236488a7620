/**
 * A host's identity across restarts, renames and moves to another address: a random id kept in
 * its data dir (`host-id`), made at its first start. A source that could not confirm a move keeps
 * its target's id, and settles the move only on an answer carrying that id: neither another host
 * of the same name nor one that took the target's old address is taken for it, and a target that
 * came back under another name or address is. (A copy of a data dir is the same host: run one.)
 *
 * @module
 */
import { join } from "../agents/paths.ts";
import { randomHex } from "./kernel/ids.ts";

const FILE = "host-id";

/** This data dir's host id, made (written aside, then renamed into place) when there is none. */
export function loadHostId(dataDir: string): string {
  const path = join(dataDir, FILE);
  try {
    const id = Deno.readTextFileSync(path).trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const id = randomHex(16);
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  Deno.writeTextFileSync(temp, `${id}\n`);
  Deno.renameSync(temp, path);
  return id;
}

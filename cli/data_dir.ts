/**
 * `paglets host --data-dir DIR`, checked before the host starts: a folder that cannot be created
 * or written is the user's mistake, reported as `invalid_request` naming the folder, rather than
 * as whichever file the host happens to open there first.
 *
 * @module
 */
import { PagletError } from "../agents/errors.ts";

/** Creates `dir` if need be and checks that files can be made in it; returns it. */
export async function usableDataDir(dir: string): Promise<string> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    throw refused(
      dir,
      "cannot create the folder",
      reason(err, "a folder on its path is missing or takes no new folders"),
    );
  }
  let probe: string;
  try {
    probe = await Deno.makeTempFile({ dir, prefix: ".paglets-probe-" });
  } catch (err) {
    throw refused(dir, "cannot write in the folder", reason(err, "it takes no new files"));
  }
  await Deno.remove(probe).catch(() => {/* a leftover probe file is harmless */});
  return dir;
}

function refused(dir: string, what: string, why: string): PagletError {
  return new PagletError("invalid_request", `--data-dir ${dir}: ${what} (${why})`);
}

/**
 * Why the file system refused (`notFound` for a NotFound), without the OS error number and the
 * call Deno appends.
 */
function reason(err: unknown, notFound: string): string {
  if (err instanceof Deno.errors.NotFound) return notFound;
  if (err instanceof Deno.errors.AlreadyExists || err instanceof Deno.errors.NotADirectory) {
    return "a file, not a folder, is in the way";
  }
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  return (err instanceof Error ? err.message : String(err)).replace(/ \(os error \d+\).*$/, "");
}

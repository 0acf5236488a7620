/** `paglets artifacts list|info|get|put|rm`: files hosted by a paglets host. */
import type { Command } from "./command.ts";
import { PagletError } from "../agents/errors.ts";
import { ArtifactClient, type HostedArtifact, type TransferProgress } from "../host/artifacts/client.ts";
import { artifactId } from "../host/artifacts/store.ts";
import { networkOptions } from "./agents_command.ts";
import { entryClient, type EntryOptions } from "./entry.ts";
import { numberOption } from "./number_option.ts";
import { formatBytes, printJson, printTable, reportError } from "./output.ts";
import { whileRunning } from "./signals.ts";
import { localTime } from "./times.ts";

type Options = EntryOptions & { json?: boolean };

/** What `artifacts rm --json` prints for each id. */
type RemoveResult = { id: string; deleted: true } | {
  id: string;
  deleted: false;
  error: { code: string; message: string };
};

function artifacts(o: EntryOptions): ArtifactClient {
  return new ArtifactClient(entryClient(o));
}

/**
 * A transfer's `--timeout`: the longest pause (no byte moved) it may take, not its whole length,
 * which grows with the file.
 */
function stallMs(o: EntryOptions): number | undefined {
  return o.timeout === undefined ? undefined : o.timeout * 1000;
}

/**
 * Checks that `path` is a file this process can read, before anything is sent: a missing one is
 * `not_found`, a folder or an unreadable file `invalid_request`.
 */
async function readableFile(path: string): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new PagletError("not_found", `No file ${path} to upload`);
    const reason = err instanceof Deno.errors.PermissionDenied ? "permission denied" : (err as Error).message;
    throw new PagletError("invalid_request", `Cannot read ${path}: ${reason}`);
  }
  try {
    if (!(await file.stat()).isFile) {
      throw new PagletError("invalid_request", `${path} is not a file: artifacts put uploads one file`);
    }
  } finally {
    file.close();
  }
}

/** Time between two redraws of a progress line. */
const PROGRESS_REDRAW_MS = 250;

/**
 * A transfer's progress on stderr when it is a terminal (and not for `--json`): one line, bytes and
 * percent, redrawn at most every PROGRESS_REDRAW_MS (and once at the end, as the host may take a
 * moment to verify what it got), erased by `end()` so that the command's own output follows.
 */
class ProgressLine {
  readonly #label: string;
  #drawnAt = -Infinity;
  #drawn = false;

  constructor(label: string) {
    this.#label = label;
  }

  /** The line for `label`, or null when there is no terminal to draw it on. */
  static on(label: string, o: Options): ProgressLine | null {
    return !o.json && Deno.stderr.isTerminal() ? new ProgressLine(label) : null;
  }

  readonly update: TransferProgress = (done, total) => {
    const now = Date.now();
    if (now - this.#drawnAt < PROGRESS_REDRAW_MS && done !== total) return;
    this.#drawnAt = now;
    this.#drawn = true;
    const of = total === null
      ? ""
      : ` / ${formatBytes(total)} ${total ? Math.floor((done * 100) / total) : 100}%`;
    this.#write(`\r\x1b[K${this.#label} ${formatBytes(done)}${of}`);
  };

  end(): void {
    if (this.#drawn) this.#write("\r\x1b[K");
    this.#drawn = false;
  }

  #write(text: string): void {
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  }
}

/** `fn` with the progress line's update, the line erased once `fn` is done (or failed). */
async function withProgress<T>(
  progress: ProgressLine | null,
  fn: (onProgress: TransferProgress | undefined) => Promise<T>,
): Promise<T> {
  try {
    return await fn(progress?.update);
  } finally {
    progress?.end();
  }
}

function row(a: HostedArtifact): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    size: formatBytes(a.size),
    owner: a.owner ?? "",
    created: localTime(a.createdAt),
    expires: localTime(a.expiresAt),
  };
}

export function registerArtifactsCommand(program: Command): void {
  const group = program.command("artifacts").description("Files hosted by a paglets host (results, inputs)");

  networkOptions(group.command("list").alias("ls").description("List the artifacts of the entry host"))
    .option("--owner <owner>", "only artifacts of this owner (an agent id or a user)")
    .action(async (o: Options & { owner?: string }) => {
      const list = await artifacts(o).list(o.owner);
      if (o.json) return printJson(list);
      if (list.length === 0) return console.log("no artifacts");
      printTable(list.map(row), ["id", "name", "size", "owner", "created", "expires"]);
    });

  networkOptions(group.command("info <id>").description("Show an artifact's metadata"))
    .action(async (id: string, o: Options) => {
      const info = await artifacts(o).info(id);
      if (o.json) return printJson(info);
      for (
        const [k, v] of Object.entries({
          ...row(info),
          sha256: info.sha256,
          bytes: info.size,
          host: info.hostUrl,
        })
      ) {
        console.log(`${k.padEnd(8)} ${v}`);
      }
    });

  networkOptions(
    group.command("get <id> <output>").description(
      "Download an artifact (verified by SHA-256) to a file, or into a folder (an existing one, or " +
        "a path ending in /, created if missing) under its name",
    ),
  )
    .option("--move", "delete the hosted artifact after a verified download")
    .action(async (id: string, output: string, o: Options & { move?: boolean }) => {
      const interrupt = new AbortController();
      const downloading = withProgress(
        ProgressLine.on(`downloading ${id}`, o),
        (onProgress) =>
          artifacts(o).download(id, output, {
            move: o.move,
            onProgress,
            signal: interrupt.signal,
            stallMs: stallMs(o),
          }),
      );
      // Ctrl-C ends the download, its .part file removed, before the command exits.
      const unregister = whileRunning({
        end: () => {
          interrupt.abort();
          return downloading.then(() => {}, () => {});
        },
      });
      let got: Awaited<typeof downloading>;
      try {
        got = await downloading;
      } finally {
        unregister();
      }
      if (o.json) return printJson({ id, ...got, moved: o.move ?? false });
      console.log(
        `${got.path} (${formatBytes(got.size)}, sha256 ${got.sha256})${
          o.move ? "; hosted copy deleted" : ""
        }`,
      );
    });

  networkOptions(group.command("put <file>").description("Upload a file as an artifact"))
    .option("--name <name>", "name to store it under (default: the file's name)")
    .option("--owner <owner>", "owner to record")
    .option(
      "--ttl <seconds>",
      "delete it after this many seconds",
      numberOption("--ttl", { min: 1, integer: true }),
    )
    .action(async (file: string, o: Options & { name?: string; owner?: string; ttl?: number }) => {
      await readableFile(file);
      const a = await withProgress(
        ProgressLine.on(`uploading ${file}`, o),
        (onProgress) =>
          artifacts(o).upload(file, {
            name: o.name,
            owner: o.owner,
            ttlSeconds: o.ttl,
            onProgress,
            stallMs: stallMs(o),
          }),
      );
      if (o.json) return printJson(a);
      console.log(a.id);
    });

  networkOptions(
    group.command("rm <ids...>").description(
      "Delete artifacts: every one it can, each failure reported (exit status 1 if any failed)",
    ),
  )
    .option("-q, --quiet", "print nothing but errors")
    .action(async (ids: string[], o: Options & { quiet?: boolean }) => {
      // A malformed id is a mistake in the command line: nothing is deleted (exit status 2).
      for (const id of ids) artifactId(id);
      const client = artifacts(o);
      const results: RemoveResult[] = [];
      for (const id of ids) {
        try {
          await client.delete(id);
          results.push({ id, deleted: true });
          if (!o.json && !o.quiet) console.log(`${id} deleted`);
        } catch (err) {
          const error = PagletError.from(err);
          results.push({ id, deleted: false, error: { code: error.code, message: error.message } });
          reportError(error);
          Deno.exitCode = 1;
        }
      }
      if (o.json) printJson(results);
    });
}

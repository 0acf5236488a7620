/** `paglets artifacts list|info|get|put|rm`: files hosted by a paglets host. */
import type { Command } from "./command.ts";
import { PagletError } from "../agents/errors.ts";
import { ArtifactClient, type HostedArtifact } from "../host/artifacts/client.ts";
import { networkOptions } from "./agents_command.ts";
import { entryClient, type EntryOptions } from "./entry.ts";
import { numberOption } from "./number_option.ts";
import { formatBytes, printJson, printTable } from "./output.ts";

type Options = EntryOptions & { json?: boolean };

function artifacts(o: EntryOptions): ArtifactClient {
  return new ArtifactClient(entryClient(o));
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

function row(a: HostedArtifact): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    size: formatBytes(a.size),
    owner: a.owner ?? "",
    created: new Date(a.createdAt).toISOString(),
    expires: a.expiresAt ? new Date(a.expiresAt).toISOString() : "",
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

  networkOptions(group.command("get <id> <output>").description("Download an artifact (verified by SHA-256)"))
    .option("--move", "delete the hosted artifact after a verified download")
    .action(async (id: string, output: string, o: Options & { move?: boolean }) => {
      const got = await artifacts(o).download(id, output, { move: o.move });
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
      const a = await artifacts(o).upload(file, { name: o.name, owner: o.owner, ttlSeconds: o.ttl });
      if (o.json) return printJson(a);
      console.log(a.id);
    });

  networkOptions(group.command("rm <ids...>").description("Delete artifacts"))
    .option("-q, --quiet", "print nothing")
    .action(async (ids: string[], o: Options & { quiet?: boolean }) => {
      const client = artifacts(o);
      for (const id of ids) await client.delete(id);
      if (o.json) return printJson({ deleted: ids });
      if (!o.quiet) { for (const id of ids) console.log(`${id} deleted`); }
    });
}

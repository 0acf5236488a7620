/** `paglets mesh hosts`: the hosts of the mesh as the entry host sees them. */
import type { Command } from "./command.ts";
import type { MeshHost } from "../agents/context.ts";
import { networkOptions } from "./agents_command.ts";
import { entryClient, type EntryOptions } from "./entry.ts";
import { pc, printJson, printTable } from "./output.ts";
import { ago } from "./times.ts";

export function registerMeshCommand(program: Command): void {
  const mesh = program.command("mesh").description(
    "Mesh membership: which hosts there are and which are online",
  );

  networkOptions(mesh.command("hosts").description("List the hosts of the mesh, this one included"))
    .option("--online", "only hosts that are online")
    .action(async (o: EntryOptions & { json?: boolean; online?: boolean }) => {
      const { hosts } = await entryClient(o).request<
        { hosts: (MeshHost & { self?: boolean; state?: string })[] }
      >(
        "GET",
        `/v1/mesh/hosts${o.online ? "?online=true" : ""}`,
      );
      if (o.json) return printJson(hosts);
      printTable(
        hosts.map((h) => ({
          ...h,
          name: h.self ? `${h.name} *` : h.name,
          // `displaced`: this host itself, while another host holds its name (docs/mesh.md).
          state: h.state === "displaced"
            ? pc.yellow("displaced")
            : h.online
            ? pc.green("online")
            : pc.red(String(h.state ?? "offline")),
          seen: h.self ? "" : ago(h.lastSeen),
          tags: h.tags.join(","),
          properties: Object.entries(h.properties ?? {}).map(([k, v]) => `${k}=${v}`).join(" "),
        })),
        ["name", "url", "state", "seen", "cpuCount", "version", "meshVersion", "tags", "properties"],
      );
    });
}

/** `paglets tour`: a short walk through a paglet's life on the entry host (or an embedded one). */
import type { Command } from "./command.ts";
import { networkOptions } from "./agents_command.ts";
import { type EntryOptions, withEntryOrEmbedded } from "./entry.ts";
import { pc, printJson } from "./output.ts";

export function registerTourCommand(program: Command): void {
  networkOptions(
    program.command("tour").description(
      "Create a paglet, message it, deactivate and wake it, then dispose it",
    ),
  )
    .action(async (o: EntryOptions & { json?: boolean }) => {
      await withEntryOrEmbedded(o, async (client) => {
        const steps: Record<string, unknown>[] = [];
        const step = (title: string, value: unknown) => {
          steps.push({ step: title, value });
          if (!o.json) console.log(`${pc.green("•")} ${title}: ${pc.dim(JSON.stringify(value))}`);
        };
        const health = await client.health();
        step(`host ${health.name} at ${health.url}`, { version: health.version });
        const created = await client.createAgent({ type: "demo.counter", state: { count: 40 } });
        step("created demo.counter", created);
        step("increment by 2", await client.send(created.id, { kind: "increment", args: { by: 2 } }));
        await client.deactivate(created.id);
        step("deactivated to SQLite", { status: "inactive" });
        step("a message wakes it", await client.send(created.id, { kind: "get" }));
        step("its lifecycle", await client.send(created.id, { kind: "events" }));
        await client.dispose(created.id);
        step("disposed", { id: created.id });
        if (o.json) printJson(steps);
      });
    });
}

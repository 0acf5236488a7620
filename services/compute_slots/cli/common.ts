/** What every `paglets jobs` command shares: option parsers, the status call, failure reporting. */
import type { Command } from "commander";
import { networkOptions } from "../../../cli/agents_command.ts";
import { type EntryOptions, withEntry } from "../../../cli/entry.ts";
import { pc } from "../../../cli/output.ts";
import { parseSize } from "../../../host/options.ts";
import { ServiceClient } from "../../client.ts";
import { formatDuration, type HostResult } from "../../cli_support.ts";
import { ComputeSlotsContract, Status, type StatusReply } from "../contract.ts";

export const NAME = ComputeSlotsContract.name;

export interface JobsOptions extends EntryOptions {
  json?: boolean;
}

export const collect = (value: string, previous: string[]) => [...previous, value];

export function size(value: string): number {
  const n = parseSize(value);
  if (n === null) throw new Error(`a size like 512M or 2G is needed: got '${value}'`);
  return n;
}

export function count(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be an integer >= 0: got '${value}'`);
    return n;
  };
}

export function ago(epochMs: number): string {
  return epochMs > 0 ? formatDuration((Date.now() - epochMs) / 1000) : "-";
}

export function cpus(ids: readonly number[]): string {
  return ids.length ? ids.join(",") : "-";
}

/** The Status operation of the entry host's compute-slots service. */
export async function status(o: JobsOptions, request: Record<string, unknown>): Promise<StatusReply> {
  return await withEntry(
    o,
    (client) => new ServiceClient(client).call(NAME, Status, request),
  );
}

export function jobsCommand(parent: Command, name: string, description: string): Command {
  return networkOptions(parent.command(name).description(description));
}

export function reportFailures(results: HostResult<unknown>[]): void {
  for (const r of results) {
    if (!r.ok) console.error(`${pc.red("error")} ${r.name} (${r.url}) [${r.error.code}]: ${r.error.message}`);
  }
  if (results.length && results.every((r) => !r.ok)) Deno.exitCode = 1;
}

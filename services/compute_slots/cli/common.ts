/** What every `paglets jobs` command shares: option parsers, the status call, failure reporting. */
import type { Command } from "../../../cli/command.ts";
import { networkOptions } from "../../../cli/agents_command.ts";
import { PagletError } from "../../../agents/errors.ts";
import { type EntryOptions, withEntry } from "../../../cli/entry.ts";
import { printJson, printTable } from "../../../cli/output.ts";
import { COMPUTE_STATUSES } from "../../../agents/compute_job_state.ts";
import { parseSize } from "../../../host/options.ts";
import { fanOut, type HostResult, reportFailures, targetHosts } from "../../cli_support.ts";
import { ComputeSlotsContract, Status, type StatusReply } from "../contract.ts";

export const NAME = ComputeSlotsContract.name;

export interface JobsOptions extends EntryOptions {
  json?: boolean;
  allHosts?: boolean;
}

export const collect = (value: string, previous: string[]) => [...previous, value];

export function size(value: string): number {
  const n = parseSize(value);
  if (n === null) {
    throw new PagletError("invalid_request", `a size like 512M or 2G is needed: got '${value}'`);
  }
  return n;
}

/** `--state`: one of the compute job statuses, in any case. */
export function computeState(value: string): string {
  const state = value.trim().toUpperCase();
  if (!(COMPUTE_STATUSES as readonly string[]).includes(state)) {
    throw new PagletError(
      "invalid_request",
      `--state must be one of ${COMPUTE_STATUSES.join(", ")}: got '${value}'`,
    );
  }
  return state;
}

export function cpus(ids: readonly number[]): string {
  return ids.length ? ids.join(",") : "-";
}

/** The entry's reply; its failure is the command's error (thrown: nothing goes to stdout). */
export function entryReply<T>(results: HostResult<T>[]): T {
  const [only] = results;
  if (!only.ok) throw PagletError.fromWire(only.error);
  return only.reply;
}

/** The Status of the entry host's compute-slots service, or of every online host's with `--all-hosts`. */
export async function statuses(
  o: JobsOptions,
  request: Record<string, unknown>,
): Promise<HostResult<StatusReply>[]> {
  return await withEntry(
    o,
    async (entry) =>
      await fanOut(await targetHosts(entry, !!o.allHosts), o, (s) => s.call(NAME, Status, request)),
  );
}

/** One of the scheduler's views (`queue`, `why`, `top`, `history`): its items, rows and columns. */
export interface StatusView<T> {
  items(reply: StatusReply): T[];
  /** What `--json` prints for one host (default: the items). */
  json?(reply: StatusReply): unknown;
  row(item: T, reply: StatusReply): Record<string, unknown>;
  columns: (string | [string, string])[];
  /** The line printed when there is nothing to show on `where` (a host name, or "any of N hosts"). */
  empty(where: string): string;
}

/**
 * Prints a view of the entry host, or of every online host with `--all-hosts` (a `host` column
 * first; `--json` then prints one entry per host, with its error if it did not answer).
 */
export async function printStatusView<T>(
  o: JobsOptions,
  request: Record<string, unknown>,
  view: StatusView<T>,
): Promise<void> {
  const results = await statuses(o, request);
  const json = (reply: StatusReply) => view.json ? view.json(reply) : view.items(reply);
  if (!o.allHosts) {
    const reply = entryReply(results);
    if (o.json) return printJson(json(reply));
    const items = view.items(reply);
    if (!items.length) return console.log(view.empty(reply.host.hostName));
    return printTable(items.map((item) => view.row(item, reply)), view.columns);
  }
  if (o.json) {
    printJson(perHostJson(results, json));
  } else {
    const rows = results.flatMap((r) =>
      r.ok ? view.items(r.reply).map((item) => ({ host: r.name, ...view.row(item, r.reply) })) : []
    );
    const answered = results.filter((r) => r.ok).length;
    if (rows.length) printTable(rows, ["host", ...view.columns]);
    else if (answered) console.log(view.empty(`any of ${answered} hosts`));
  }
  reportFailures(results);
}

/**
 * What `--all-hosts --json` prints: one entry per host, `{host, url, ok: true, view}`, or
 * `{host, url, ok: false, error}` for a host that did not answer.
 */
export function perHostJson<T>(results: HostResult<T>[], view: (reply: T) => unknown): unknown[] {
  return results.map((r) =>
    r.ok
      ? { host: r.name, url: r.url, ok: true, view: view(r.reply) }
      : { host: r.name, url: r.url, ok: false, error: r.error }
  );
}

export function jobsCommand(parent: Command, name: string, description: string): Command {
  return networkOptions(parent.command(name).description(description));
}

/** A view command: `--all-hosts` asks every online host of the mesh, in parallel. */
export function jobsViewCommand(parent: Command, name: string, description: string): Command {
  return jobsCommand(parent, name, description).option(
    "--all-hosts",
    "every online host of the mesh (in parallel)",
  );
}

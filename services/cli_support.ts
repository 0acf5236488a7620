/**
 * Helpers the services' CLI commands share: attaching subcommands to a group another part may
 * also create (`mesh`), and asking every online host of the mesh in parallel.
 *
 * @module
 */
import type { Command } from "../cli/command.ts";
import { PagletError } from "../agents/errors.ts";
import { apiKeyFrom, type EntryOptions } from "../cli/entry.ts";
import { pc, reportError } from "../cli/output.ts";
import type { HostClient } from "../host/client.ts";
import { ServiceClient } from "./client.ts";

/**
 * The subcommand `name` of `program`, created when missing. Groups several parts extend (the mesh
 * engineer's `mesh hosts`, mesh-info's `mesh summary`) call this in any order.
 */
export function ensureCommand(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) {
    if (!existing.description()) existing.description(description);
    return existing;
  }
  return program.command(name).description(description);
}

/** A host to ask. */
export interface HostTarget {
  name: string;
  url: string;
}

/** The answer of one host in a fan-out. */
export type HostResult<T> =
  & HostTarget
  & ({ ok: true; reply: T } | { ok: false; error: { code: string; message: string } });

/**
 * The hosts to ask: every online mesh host (from the entry's `GET /v1/mesh/hosts`) with
 * `allHosts`, else the entry alone. A host without mesh routes counts as a mesh of one. The
 * members not asked (offline, left, unauthorized) are named on stderr: what they hold is missing
 * from the answer.
 */
export async function targetHosts(entry: HostClient, allHosts: boolean): Promise<HostTarget[]> {
  const health = await entry.health();
  const self = { name: health.name, url: entry.baseUrl };
  if (!allHosts) return [self];
  try {
    const { hosts } = await entry.request<
      { hosts: { name: string; url: string; online: boolean; state?: string; self?: boolean }[] }
    >("GET", "/v1/mesh/hosts");
    const missing = hosts.filter((h) => !h.online && !h.self && h.name !== self.name);
    if (missing.length > 0) {
      const names = missing.map((h) => `${h.name} (${h.state ?? "offline"})`).join(", ");
      console.error(`note: not asked, not online: ${names}`);
    }
    const online = hosts.filter((h) => h.online).map((h) => ({
      name: h.name,
      url: h.url.replace(/\/+$/, ""),
    }));
    return online.some((h) => h.url === self.url || h.name === self.name) ? online : [self, ...online];
  } catch (err) {
    if (err instanceof PagletError && err.code === "route_not_found") return [self];
    throw err;
  }
}

/** Calls `fn` for every host in parallel; failures become results, never exceptions. */
export async function fanOut<T>(
  hosts: HostTarget[],
  options: EntryOptions,
  fn: (services: ServiceClient, host: HostTarget) => Promise<T>,
): Promise<HostResult<T>[]> {
  const apiKey = apiKeyFrom(options);
  const timeoutMs = options.timeout ? options.timeout * 1000 : 10_000;
  return await Promise.all(hosts.map(async (host): Promise<HostResult<T>> => {
    try {
      return {
        ...host,
        ok: true,
        reply: await fn(ServiceClient.connect(host.url, { apiKey, timeoutMs }), host),
      };
    } catch (err) {
      const e = PagletError.from(err);
      return { ...host, ok: false, error: { code: e.code, message: e.message } };
    }
  }));
}

/** A number with fixed decimals, or "-" when unknown. */
export function fixed(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(digits);
}

/**
 * Prints the hosts that failed on stderr, `error NAME (URL) [code]: message` each; exit code 1
 * when every host failed. One host asked (a mesh of one) that failed is the command's error:
 * `error [code]: NAME (URL): message`.
 */
export function reportFailures(results: HostResult<unknown>[]): void {
  const [only] = results;
  if (results.length === 1 && !only.ok) {
    const { code, message } = only.error;
    Deno.exitCode = reportError(
      PagletError.fromWire({ code, message: `${only.name} (${only.url}): ${message}` }),
    );
    return;
  }
  for (const r of results) {
    if (!r.ok) console.error(`${pc.red("error")} ${r.name} (${r.url}) [${r.error.code}]: ${r.error.message}`);
  }
  if (results.length && results.every((r) => !r.ok)) Deno.exitCode = 1;
}

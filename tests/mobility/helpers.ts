/** Shared setup of the mobility tests: real host processes loading the mobility fixtures. */
import { type HostProcess, startHost, type StartOptions } from "../helpers/host_process.ts";

export const TRAVELLER_MODULE = new URL("../fixtures/mobile_paglets.ts", import.meta.url).href;
export const HOMEBODY_MODULE = new URL("../fixtures/local_only_paglet.ts", import.meta.url).href;

/** A host process that knows the traveller fixtures (plus `extraArgs`). */
export function startMobileHost(name: string, options: Partial<StartOptions> = {}): Promise<HostProcess> {
  return startHost({
    ...options,
    name,
    args: ["--module", TRAVELLER_MODULE, "--workers", "1", ...(options.args ?? [])],
  });
}

/** Agent ids on a host (any status). */
export async function agentIds(host: HostProcess): Promise<string[]> {
  const { agents } = await host.client.listAgents();
  return agents.map((a) => String(a.id));
}

/** Events of a traveller as it reports them. */
export async function travellerEvents(host: HostProcess, id: string): Promise<string[]> {
  const state = await host.client.send(id, { kind: "get" }) as { events: string[] };
  return state.events;
}

/** Lists a directory's entries (empty when it does not exist). */
export async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

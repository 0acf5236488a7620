/** Shared bits of the mesh tests: fast gossip timing, host listings, forwarding records, stand-in peers. */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { MemberView } from "../../host/mesh/membership.ts";
import type { HostProcess } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";

/** Gossip 5× a second and call a host offline after 1.5 s of silence, so tests run fast. */
export const FAST_MESH = ["--gossip-interval-ms", "200", "--offline-after-ms", "1500"];

/** The paglet types of tests/mesh/fixtures, loaded into every worker with `--module`. */
export const PROBE_MODULE = ["--module", new URL("./fixtures/mesh_agents.ts", import.meta.url).href];

/** The mesh as one host sees it. */
export async function meshHosts(host: HostProcess): Promise<MemberView[]> {
  return (await host.client.request<{ hosts: MemberView[] }>("GET", "/v1/mesh/hosts")).hosts;
}

/** `{name: online}` for every host in a host's listing. */
export async function onlineMap(host: HostProcess): Promise<Record<string, boolean>> {
  return Object.fromEntries((await meshHosts(host)).map((h) => [h.name, h.online]));
}

/** True when `host` lists exactly `names`, all online. */
export async function seesAllOnline(host: HostProcess, names: string[]): Promise<boolean> {
  const map = await onlineMap(host);
  return Object.keys(map).sort().join() === [...names].sort().join() && names.every((n) => map[n]);
}

/** Waits (bounded) until the host ran `rounds` more gossip rounds (its own heartbeat moved on). */
export async function moreRounds(host: HostProcess, rounds: number): Promise<void> {
  const beat = async () => (await meshHosts(host)).find((h) => h.self)!.heartbeat;
  const from = await beat();
  await eventually(`${host.name} to run ${rounds} more rounds`, async () => await beat() >= from + rounds);
}

/** The `data` of the host's events of `kind`, oldest first. */
export async function eventData(host: HostProcess, kind: string): Promise<Record<string, unknown>[]> {
  const { events } = await host.client.events(0, 2000);
  return events.filter((e) => e.kind === kind).map((e) => (e.data ?? {}) as Record<string, unknown>);
}

/** The host's `warning:` lines on stderr that mention `text`. */
export function warnings(host: HostProcess, text: string): string[] {
  return host.stderr.filter((line) => line.startsWith("warning:") && line.includes(text));
}

/** A stand-in peer: an HTTP server on 127.0.0.1 that answers every request with `answer`, counting them. */
export function fakePeer(
  answer: (request: Request) => Response | Promise<Response>,
): { url: string; requests: () => number } & AsyncDisposable {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    requests++;
    return answer(request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/**
 * Writes a forwarding record ("agent `id` moved to `movedTo`") straight into a running host's
 * database, as the mobility code does on dispatch. Test-only: no route offers this.
 */
export function writeForwardingRecord(host: HostProcess, id: string, movedTo: string): void {
  const db = new DatabaseSync(join(host.dataDir, "host.sqlite"));
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.prepare("INSERT OR REPLACE INTO moved_agents (id, moved_to, moved_at) VALUES (?, ?, ?)").run(
      id,
      movedTo,
      Date.now(),
    );
  } finally {
    db.close();
  }
}

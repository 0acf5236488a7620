/**
 * Where a Runner's executors go: the hosts the options name, or every online host of the mesh
 * with the wanted tags (the entry host first); executors are spread over them round-robin.
 *
 * @module
 */
import { PagletError } from "../errors.ts";
import type { RunnerHost } from "./http.ts";

/** What placement reads of the Runner's options. */
export interface PlacementOptions {
  hosts?: string[];
  tags?: string[];
}

/** Picks the hosts executors run on, entry first. */
export function chooseHosts(all: RunnerHost[], options: PlacementOptions, entry: string): RunnerHost[] {
  if (options.hosts?.length) {
    return options.hosts.map((wanted) => {
      const host = all.find((h) => h.name === wanted || h.url === wanted.replace(/\/+$/, ""));
      if (!host) {
        throw new PagletError("host_not_found", `Runner host '${wanted}' is not an online host of the mesh`);
      }
      return host;
    });
  }
  const tags = options.tags ?? [];
  const chosen = all.filter((h) => tags.every((t) => h.tags.includes(t)));
  if (chosen.length === 0) {
    throw new PagletError(
      "host_not_found",
      `No online host of the mesh (entry ${entry}) has the tags ${tags.map((t) => `'${t}'`).join(", ")}`,
    );
  }
  return chosen;
}

/** `count` executors spread round-robin over `hosts`. */
export function spread(hosts: RunnerHost[], count: number): RunnerHost[] {
  return Array.from({ length: count }, (_, i) => hosts[i % hosts.length]);
}

/** Executors a set of hosts takes by default: one per CPU. */
export function coresOf(hosts: RunnerHost[]): number {
  return hosts.reduce((n, h) => n + Math.max(1, h.cpuCount), 0);
}

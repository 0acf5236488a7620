/** GET /v1/health and GET /v1/host. */
import type { Hono } from "hono";
import type { Host } from "../host.ts";
import { VERSION } from "../version.ts";
import { json } from "./body.ts";
import { readResources } from "../resources.ts";
import { affinityStatus } from "../compute/affinity_status.ts";

export function hostRoutes(app: Hono, host: Host): void {
  app.get("/v1/health", () =>
    json({
      ok: !host.draining,
      name: host.options.name,
      version: VERSION,
      meshVersion: host.options.meshVersion,
      url: host.info?.url ?? null,
      uptimeS: Math.round((Date.now() - host.startedAt) / 1000),
    }));

  app.get("/v1/host", async () => {
    const res = await readResources(host.options.dataDir);
    const counts = await host.store.countByStatus();
    return json({
      ...host.info,
      version: VERSION,
      cpuCount: res.cpuCount,
      load1: res.load1,
      load5: res.load5,
      load15: res.load15,
      memTotal: res.memTotal,
      memAvailable: res.memAvailable,
      diskTotal: res.diskTotal,
      diskFree: res.diskFree,
      agents: {
        active: host.runtime.live.size,
        inactive: counts.inactive ?? 0,
        crashed: counts.crashed ?? 0,
      },
      workers: host.pool.slots.map((s) => ({ index: s.index, agents: s.agents.size })),
      abandonedWorkers: host.pool.abandoned,
      affinitySupported: affinityStatus().supported,
      uptimeS: Math.round((Date.now() - host.startedAt) / 1000),
    });
  });
}

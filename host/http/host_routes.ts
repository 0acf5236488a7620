/** GET /v1/health and GET /v1/host. */
import type { Hono } from "hono";
import type { Host } from "../host.ts";
import { version } from "../version.ts";
import { json } from "./body.ts";
import { readResources } from "../resources.ts";
import { affinitySupport } from "../compute/affinity.ts";

export function hostRoutes(app: Hono, host: Host): void {
  // The probe tells the truth: 200 only while the whole API serves; 503 while starting or draining.
  app.get("/v1/health", () => {
    const ready = host.ready && !host.draining;
    const state = host.draining ? "draining" : host.ready ? "ready" : "starting";
    return json({
      ok: ready,
      ready,
      state,
      // A probe that is not ready is also an error answer, so clients read it like any other.
      ...(ready ? {} : {
        error: {
          code: state,
          message: state === "starting" ? "The host is starting" : "The host is shutting down",
        },
      }),
      name: host.options.name,
      version: version(),
      meshVersion: host.options.meshVersion,
      url: host.info?.url ?? null,
      uptimeS: Math.round((Date.now() - host.startedAt) / 1000),
    }, ready ? 200 : 503);
  });

  app.get("/v1/host", async () => {
    const res = await readResources(host.options.dataDir);
    const counts = await host.store.countByStatus();
    return json({
      ...host.info,
      version: version(),
      cpuCount: res.cpuCount,
      load1: res.load1,
      load5: res.load5,
      load15: res.load15,
      memTotal: res.memTotal,
      memAvailable: res.memAvailable,
      diskTotal: res.diskTotal,
      diskFree: res.diskFree,
      agents: {
        active: host.runtime.liveCount,
        inactive: counts.inactive ?? 0,
        crashed: counts.crashed ?? 0,
      },
      workers: host.pool.slots.map((s) => ({ index: s.index, agents: s.agents.size })),
      abandonedWorkers: host.pool.abandoned,
      connections: host.connections,
      eventStreams: host.eventStreams,
      affinitySupported: affinitySupport().supported,
      uptimeS: Math.round((Date.now() - host.startedAt) / 1000),
    });
  });
}

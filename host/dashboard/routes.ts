/** GET / (the dashboard page) and GET /metrics (Prometheus text, host/metrics/). */
import type { Hono } from "hono";
import type { Host } from "../host.ts";
import { DASHBOARD_HTML } from "./page.ts";
import { json } from "../http/body.ts";
import { meshView } from "./mesh_view.ts";

export function dashboardRoutes(app: Hono, host: Host): void {
  app.get(
    "/",
    () => new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );

  app.get("/v1/host/history", () => json({ samples: host.samples.list() }));
  app.get("/v1/dashboard/mesh", async () => json({ hosts: await meshView(host) }));

  app.get("/metrics", async () =>
    new Response(await host.metrics.registry.text(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    }));
}

/** GET / (the dashboard page) and GET /metrics (Prometheus text, host/metrics/). */
import type { Hono } from "hono";
import type { Host } from "../host.ts";
import { DASHBOARD_HTML } from "./page.ts";

export function dashboardRoutes(app: Hono, host: Host): void {
  app.get(
    "/",
    () => new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );

  app.get("/metrics", async () =>
    new Response(await host.metrics.registry.text(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    }));
}

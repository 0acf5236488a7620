/** GET / (the dashboard page) and GET /metrics (Prometheus text). */
import type { Hono } from "hono";
import type { Host } from "../host.ts";
import { DASHBOARD_HTML } from "./page.ts";

export function dashboardRoutes(app: Hono, host: Host): void {
  app.get(
    "/",
    () => new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );

  app.get("/metrics", async () => {
    const { body, contentType } = await host.metrics.exposition();
    return new Response(body, { headers: { "content-type": contentType } });
  });
}

/**
 * GET / (the dashboard page), what it gathers from the mesh (GET /v1/dashboard/mesh, GET
 * /v1/dashboard/agents/:id?host=NAME) and GET /metrics (Prometheus text, host/metrics/).
 */
import type { Hono } from "hono";
import type { Host } from "../host.ts";
import { DASHBOARD_HTML } from "./page.ts";
import { json } from "../http/body.ts";
import { meshView } from "./mesh_view.ts";
import { agentOnHost } from "./agent_view.ts";
import { PagletError } from "../../agents/errors.ts";
import { isValidAgentId } from "../kernel/ids.ts";

export function dashboardRoutes(app: Hono, host: Host): void {
  app.get(
    "/",
    () => new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );

  app.get("/v1/host/history", () => json({ samples: host.samples.list() }));
  app.get("/v1/dashboard/mesh", async () => json({ hosts: await meshView(host) }));
  app.get("/v1/dashboard/agents/:id", async (c) => {
    const id = c.req.param("id") ?? "";
    if (!isValidAgentId(id)) throw new PagletError("bad_request", `Malformed agent id '${id}'`);
    return json(await agentOnHost(host, id, c.req.query("host") ?? ""));
  });

  app.get("/metrics", async () =>
    new Response(await host.metrics.registry.text(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    }));
}

/** The host's HTTP application: auth, errors, and the route groups of HTTP-API.md. */
import { Hono } from "hono";
import { PagletError } from "../../agents/errors.ts";
import type { Host } from "../host.ts";
import { checkBearer } from "./auth.ts";
import { errorResponse } from "./body.ts";
import { agentRoutes } from "./agent_routes.ts";
import { eventRoutes } from "./event_routes.ts";
import { hostRoutes } from "./host_routes.ts";
import { dashboardRoutes } from "../dashboard/routes.ts";
import { codeRoutes } from "../code/routes.ts";

/** Extra route groups registered by extensions (mesh, services, dashboard) before the host starts. */
export type RouteGroup = (app: Hono, host: Host) => void;
export const routeGroups: RouteGroup[] = [];

export function buildApp(host: Host): Hono {
  const app = new Hono();
  app.onError((err) => {
    const error = err instanceof PagletError ? err : PagletError.from(err);
    if (error.code === "internal") {
      host.events.emit("http-error", {
        error: err instanceof Error ? err.stack ?? err.message : String(err),
      });
    }
    return errorResponse(error);
  });
  app.notFound((c) =>
    errorResponse(new PagletError("route_not_found", `No route ${c.req.method} ${c.req.path}`))
  );
  // Counts and times every answer, refusals included (host/metrics).
  app.use("*", host.metrics.middleware);
  // One middleware layer for auth and readiness: every layer costs on every request.
  const key = host.options.apiKey;
  app.use("*", (c, next) => {
    const path = c.req.path;
    // The health probe and the dashboard page (it holds no data and asks for the key) are open.
    if (path === "/v1/health" || path === "/") return next();
    if (key !== null) {
      const denied = checkBearer(key, c.req.header("authorization"));
      if (denied) return Promise.resolve(denied);
    }
    if (path.startsWith("/v1/")) {
      if (host.draining) {
        return Promise.resolve(errorResponse(new PagletError("draining", "The host is shutting down")));
      }
      if (!host.ready) {
        return Promise.resolve(errorResponse(new PagletError("starting", "The host is starting")));
      }
    }
    return next();
  });
  hostRoutes(app, host);
  agentRoutes(app, host);
  eventRoutes(app, host);
  dashboardRoutes(app, host);
  codeRoutes(app, host);
  for (const group of routeGroups) group(app, host);
  for (const ext of host.extensions) ext.routes?.(app, host);
  return app;
}

/**
 * The host's HTTP application: auth, errors, and the route groups of HTTP-API.md; messages to
 * agents are served in front of it (message_route.ts).
 */
import { type Context, Hono, type Next } from "hono";
import { PagletError } from "../../agents/errors.ts";
import type { Host } from "../host.ts";
import { checkBearer } from "./auth.ts";
import { describeError, outOfDescriptorsError } from "../descriptors.ts";
import { errorResponse } from "./body.ts";
import { agentRoutes } from "./agent_routes.ts";
import { eventRoutes } from "./event_routes.ts";
import { hostRoutes } from "./host_routes.ts";
import { dashboardRoutes } from "../dashboard/routes.ts";
import { codeRoutes } from "../code/routes.ts";
import type { Handler } from "./connection_gate.ts";
import { apiHandler } from "./message_route.ts";
import { browserGuard } from "./browser_guard.ts";

/** Extra route groups registered by extensions (mesh, services, dashboard) before the host starts. */
export type RouteGroup = (app: Hono, host: Host) => void;
export const routeGroups: RouteGroup[] = [];

/** The host's request handler: the Hono app, with messages to agents served in front of it. */
export function buildHandler(host: Host): Handler {
  return apiHandler(host, buildApp(host), admission(host), (err) => errorAnswer(host, err));
}

/**
 * The documented error answer of a failed request; an internal error is also reported as an event.
 * A request that failed for want of a file descriptor is the client's to retry (descriptors.ts).
 */
function errorAnswer(host: Host, err: unknown): Response {
  const thrown = outOfDescriptorsError(err);
  const error = thrown instanceof PagletError ? thrown : PagletError.from(thrown);
  if (error.code === "internal") host.events.emit("http-error", { error: describeError(err) });
  return errorResponse(error);
}

/**
 * Auth and readiness, one check for every request: the refusal to answer, or null when the
 * request may pass.
 */
function admission(host: Host): (path: string, request: Request) => Response | null {
  const key = host.options.apiKey;
  const guard = browserGuard({ url: () => host.info?.url ?? "", bind: host.options.bind, apiKey: key });
  return (path, request) => {
    // The health probe is open to anyone; the rest to no other site's web page (browser_guard.ts).
    if (path === "/v1/health") return null;
    const foreign = guard(request);
    if (foreign) return errorResponse(foreign);
    // The dashboard page holds no data and asks for the key.
    if (path === "/") return null;
    if (key !== null) {
      const denied = checkBearer(key, request.headers.get("authorization") ?? undefined);
      if (denied) return denied;
    }
    if (path.startsWith("/v1/")) {
      if (host.draining) return errorResponse(new PagletError("draining", "The host is shutting down"));
      if (!host.ready) return errorResponse(new PagletError("starting", "The host is starting"));
    }
    return null;
  };
}

/**
 * A HEAD request runs its GET route (Hono), whose answer's body is then dropped unread: ended here,
 * or an event stream would stay subscribed for good and a download keep its file open.
 */
async function headOnly(c: Context, next: Next): Promise<void> {
  await next();
  await c.res.body?.cancel().catch(() => {});
}

export function buildApp(host: Host): Hono {
  const app = new Hono();
  app.onError((err) => errorAnswer(host, err));
  app.notFound((c) =>
    errorResponse(new PagletError("route_not_found", `No route ${c.req.method} ${c.req.path}`))
  );
  // Counts and times every answer, refusals included (host/metrics).
  app.use("*", host.metrics.middleware);
  // One middleware layer for auth and readiness: every layer costs on every request.
  const admit = admission(host);
  app.use("*", (c, next) => {
    const refused = admit(c.req.path, c.req.raw);
    if (refused) return Promise.resolve(refused);
    return c.req.method === "HEAD" ? headOnly(c, next) : next();
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

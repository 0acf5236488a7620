/**
 * `GET /v1/services`, `GET /v1/services/:name` and `POST /v1/services/:name/:op`.
 *
 * @module
 */
import type { Hono } from "hono";
import { z } from "zod";
import { PagletError } from "../agents/errors.ts";
import { validate } from "../agents/operations.ts";
import type { Host } from "../host/host.ts";
import { json, readJson } from "../host/http/body.ts";
import type { ServiceRegistry } from "./registry.ts";

const ListQuery = z.object({ scope: z.enum(["local", "mesh"]).optional() });

/** Registers the service routes; `registryOf` finds the host's registry at request time. */
export function serviceRoutes(
  app: Hono,
  host: Host,
  registryOf: (host: Host) => ServiceRegistry | undefined,
): void {
  const registry = (): ServiceRegistry => {
    const found = registryOf(host);
    if (!found) throw new PagletError("draining", "Resident services are not started yet");
    return found;
  };

  app.get("/v1/services", (c) => {
    const q = validate(ListQuery, c.req.query(), "query");
    const services = registry().list().filter((s) => !q.scope || s.scope === q.scope);
    return json({ host: host.info.name, url: host.info.url, services });
  });

  app.get("/v1/services/:name", async (c) => {
    const name = c.req.param("name");
    const r = registry();
    const description = r.describe(name);
    if (!description) {
      throw new PagletError("service_not_found", `No resident service '${name}' on this host`);
    }
    return json({ ...description, operationSchemas: await r.operationSchemas(name) });
  });

  app.post("/v1/services/:name/:op", async (c) => {
    const r = registry();
    const name = c.req.param("name");
    const op = c.req.param("op");
    r.operation(name, op); // unknown names answer 404 before the body is read
    const request = await readJson(c, host.options.maxBodyBytes);
    const reply = await r.call(name, op, request, { via: "http" });
    return json({ reply });
  });
}

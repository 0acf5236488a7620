/** `GET /v1/mesh/hosts` and `POST /v1/mesh/gossip`. */
import type { Hono } from "hono";
import { z } from "zod";
import { PagletError } from "../../agents/errors.ts";
import { validate } from "../../agents/operations.ts";
import type { Host } from "../host.ts";
import { json, readJson } from "../http/body.ts";
import type { GossipNode } from "./gossip.ts";
import { GossipRequestSchema } from "./protocol.ts";

const HostsQuery = z.object({ online: z.enum(["true", "false", "1", "0"]).optional() });

/** Registers the mesh routes; `node` is looked up per request (the routes exist before the mesh starts). */
export function meshRoutes(app: Hono, host: Host, node: () => GossipNode | undefined): void {
  const started = (): GossipNode => {
    const n = node();
    if (!n) throw new PagletError("draining", "The mesh of this host has not started");
    return n;
  };

  app.get("/v1/mesh/hosts", (c) => {
    const q = validate(HostsQuery, c.req.query(), "query");
    const onlineOnly = q.online === "true" || q.online === "1";
    return json({ hosts: started().table.list({ onlineOnly }) });
  });

  app.post("/v1/mesh/gossip", async (c) => {
    const gossip = started();
    const request = validate(
      GossipRequestSchema,
      await readJson(c, host.options.maxBodyBytes),
      "gossip request",
    );
    return json(gossip.handle(request));
  });
}

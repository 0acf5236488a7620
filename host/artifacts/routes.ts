/** `/v1/artifacts`: streamed upload (`x-sha256` checked), list, info, streamed download, delete. */
import type { Hono } from "hono";
import { z } from "zod";
import { PagletError } from "../../agents/errors.ts";
import { validate } from "../../agents/operations.ts";
import type { Host } from "../host.ts";
import { json, queryInt, streamedBody } from "../http/body.ts";
import { MAX_WAKE_SECONDS } from "../../agents/policy.ts";
import { artifactId, type ArtifactStore } from "./store.ts";

const PutQuery = z.object({
  name: z.string().optional(),
  owner: z.string().optional(),
  /** Seconds until the sweeper deletes the artifact (at most 100 years). */
  ttl: queryInt(z.number().int().positive().max(MAX_WAKE_SECONDS)).optional(),
  sha256: z.string().optional(),
});

const ListQuery = z.object({ owner: z.string().optional() });

function declaredSize(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) throw new PagletError("bad_request", `Malformed size header '${value}'`);
  return Number(value);
}

function header(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new PagletError("bad_request", `Malformed header value '${value}'`);
  }
}

export function artifactRoutes(app: Hono, host: Host, store: () => ArtifactStore): void {
  app.put("/v1/artifacts", async (c) => {
    const q = validate(PutQuery, c.req.query(), "query");
    // A body that stops arriving is given up after the idle timeout, its reservation freed.
    const body = streamedBody(c.req.raw, "Upload");
    const meta = await store().put(body, {
      name: q.name ?? header(c.req.header("x-artifact-name")),
      owner: q.owner ?? header(c.req.header("x-artifact-owner")) ?? null,
      sha256: c.req.header("x-sha256")?.toLowerCase() ?? q.sha256,
      size: declaredSize(c.req.header("content-length")) ?? declaredSize(c.req.header("x-size")),
      expiresAt: q.ttl ? Date.now() + q.ttl * 1000 : null,
    });
    return json({ ...meta, hostUrl: host.url }, 201);
  });

  app.get("/v1/artifacts", async (c) => {
    const q = validate(ListQuery, c.req.query(), "query");
    const artifacts = await store().list(q.owner);
    return json({
      artifacts: artifacts.map((a) => ({ ...a, hostUrl: host.url })),
      usedBytes: store().usedBytes,
      reservedBytes: store().reservedBytes,
    });
  });

  app.get(
    "/v1/artifacts/:id/info",
    async (c) => json({ ...await store().get(artifactId(c.req.param("id"))), hostUrl: host.url }),
  );

  app.get("/v1/artifacts/:id", async (c) => {
    const { meta, file } = await store().openBlob(artifactId(c.req.param("id")));
    return new Response(file.readable, {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(meta.size),
        "x-sha256": meta.sha256,
        "x-artifact-name": encodeURIComponent(meta.name),
        "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(meta.name)}`,
      },
    });
  });

  app.delete("/v1/artifacts/:id", async (c) => {
    const id = artifactId(c.req.param("id"));
    await store().delete(id);
    return json({ ok: true, id });
  });
}

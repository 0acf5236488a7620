/**
 * Movement routes. Control API (JSON): `POST /v1/agents/:id/dispatch|clone|retract`. Host to host:
 * `POST /v1/transfers/preflight` (JSON), `POST /v1/transfers` (CBOR, streamed),
 * `GET /v1/transfers/:id`, `POST /v1/transfers/:id/abandon`.
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import { PagletError } from "../../agents/errors.ts";
import { validate } from "../../agents/operations.ts";
import type { Host } from "../host.ts";
import { isValidAgentId } from "../kernel/ids.ts";
import { json, readJson, streamedBody } from "../http/body.ts";
import { TransferIdSchema } from "./envelope.ts";
import type { TransferDispatcher } from "./dispatcher.ts";
import { SUPERSEDED_QUIET_MS, type TransferReceiver } from "./receiver.ts";

/** What the routes need; looked up per request (the parts exist once the host has started). */
export interface MovementParts {
  dispatcher: TransferDispatcher;
  receiver: TransferReceiver;
}

const DispatchBody = z.object({
  target: z.string().min(1),
  arrivalMode: z.enum(["active", "inactive"]).optional(),
});

const CloneBody = z.object({ target: z.string().min(1).nullable().optional() });

const RetractBody = z.object({
  /** Pull the agent from this host to the one answering. */
  from: z.string().min(1).optional(),
  /** Send the agent held here to this host (what a pulling host asks of the holder). */
  target: z.string().min(1).optional(),
}).refine(
  (b) => (b.from === undefined) !== (b.target === undefined),
  "exactly one of 'from' and 'target' is required",
);

const PreflightBody = z.object({
  agentId: z.string().refine(isValidAgentId, "must be a valid agent id"),
  type: z.string().min(1),
  kind: z.enum(["dispatch", "clone", "retract"]),
  meshVersion: z.string().min(1),
  stateSize: z.number().int().min(0).optional(),
  files: z.array(z.object({ name: z.string(), size: z.number().int().min(0) })).max(1000).default([]),
  /** The travelling module the agent runs (host/code/), and the host to fetch it from. */
  code: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits").optional(),
  codeFrom: z.string().url().optional(),
});

const AbandonBody = z.object({
  agentId: z.string().refine(isValidAgentId, "must be a valid agent id"),
  source: z.string().min(1),
  /** How long ago the source wrote the departure, by its clock (sources before it do not say). */
  ageMs: z.number().int().min(0).optional(),
  /** When the paglet that left was created (a move keeps it): another paglet of its id is not it. */
  agentCreatedAt: z.number().finite().optional(),
});

function agentId(c: Context): string {
  const id = c.req.param("id") ?? "";
  if (!isValidAgentId(id)) throw new PagletError("bad_request", `Malformed agent id '${id}'`);
  return id;
}

function transferId(c: Context): string {
  const id = c.req.param("id") ?? "";
  if (!TransferIdSchema.safeParse(id).success) {
    throw new PagletError("bad_request", `Malformed transfer id '${id}'`);
  }
  return id;
}

export function movementRoutes(app: Hono, host: Host, parts: () => MovementParts): void {
  const max = host.options.maxBodyBytes;

  app.post("/v1/agents/:id/dispatch", async (c) => {
    const id = agentId(c);
    const body = validate(DispatchBody, await readJson(c, max), "dispatch request");
    const { dispatcher } = parts();
    const ref = await dispatcher.dispatch(id, body.target, { arrivalMode: body.arrivalMode });
    await dispatcher.settled(id); // a client reading this host next sees the move recorded
    return json(ref);
  });

  app.post("/v1/agents/:id/clone", async (c) => {
    const id = agentId(c);
    const body = validate(CloneBody, await readJson(c, max), "clone request");
    return json(await parts().dispatcher.clone(id, body.target ?? null), 201);
  });

  app.post("/v1/agents/:id/retract", async (c) => {
    const id = agentId(c);
    const body = validate(RetractBody, await readJson(c, max), "retract request");
    const { dispatcher } = parts();
    if (body.from !== undefined) return json(await dispatcher.retract(id, body.from));
    const ref = await dispatcher.dispatch(id, body.target!, { reason: "retract" });
    await dispatcher.settled(id);
    return json(ref);
  });

  app.post("/v1/transfers/preflight", async (c) => {
    try {
      const body = validate(PreflightBody, await readJson(c, max), "preflight request");
      return json(await parts().receiver.preflight(body));
    } catch (err) {
      // A move refused before it is sent counts as a refused transfer, as one refused on arrival.
      host.metrics.transfers.inc({ direction: "in", outcome: "refused" });
      throw err;
    }
  });

  app.post("/v1/transfers", async (c) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/cbor") {
      throw new PagletError(
        "unsupported_media_type",
        `A transfer must be sent as application/cbor, not '${type || "(none)"}'`,
      );
    }
    try {
      // A body that stops arriving is given up after the idle timeout, its spool removed and its
      // connection ended. A source gives its own stalled attempt up sooner (its stall limit: 30 s
      // by default, the idle timeout 60 s), so this cuts only a sender that holds a dead attempt;
      // and sooner still once a newer attempt of the transfer arrives (receiver.ts, receive).
      const newer = new AbortController();
      const body = streamedBody(c.req.raw, "Transfer", {
        signal: newer.signal,
        limitMs: SUPERSEDED_QUIET_MS,
      });
      const ack = await parts().receiver.receive(
        body,
        () => newer.abort("a newer attempt of this transfer arrived and is taken instead"),
      );
      host.metrics.transfers.inc({ direction: "in", outcome: "stored" });
      return json(ack);
    } catch (err) {
      host.metrics.transfers.inc({ direction: "in", outcome: "refused" });
      throw err;
    }
  });

  app.get("/v1/transfers/:id", async (c) => json(await parts().receiver.status(transferId(c))));

  app.post("/v1/transfers/:id/abandon", async (c) => {
    const id = transferId(c);
    const body = validate(AbandonBody, await readJson(c, max), "abandon request");
    // With who answers: the source trusts the answer only from the host it sent the agent to.
    return json({
      ...await parts().receiver.abandon(id, body.agentId, body.source, body.ageMs, body.agentCreatedAt),
      host: host.name,
      hostId: host.id,
    });
  });
}

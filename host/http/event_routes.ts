/** /v1/events (recent events) and /v1/events/stream (Server-Sent Events). */
import type { Context, Hono } from "hono";
import { z } from "zod";
import { PagletError } from "../../agents/errors.ts";
import { validate } from "../../agents/operations.ts";
import { stringifyTagged } from "../../agents/wire.ts";
import type { Host } from "../host.ts";
import { json } from "./body.ts";
import { cancel, every, type Timer } from "../../agents/timers.ts";

const EventsQuery = z.object({
  since: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().positive().max(2000).optional(),
  /** One kind or several: comma-separated (`user-notify,user-stream`), or the parameter repeated. */
  kind: z.array(z.string()).optional().transform((k) => {
    const kinds = new Set((k ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean));
    return kinds.size ? kinds : null;
  }),
});

/** The query of an events request, every `kind` parameter included. */
function eventsQuery(c: Context): z.infer<typeof EventsQuery> {
  const kind = c.req.queries("kind");
  return validate(EventsQuery, { ...c.req.query(), kind }, "query");
}

export function eventRoutes(app: Hono, host: Host): void {
  app.get("/v1/events", (c) => {
    const q = eventsQuery(c);
    const limit = q.limit ?? 100;
    const events = host.events.since(q.since ?? 0, limit, q.kind);
    // The id to ask `since` next: the last one answered when the limit cut the answer, else the
    // latest (every event up to it was looked at).
    const lastId = events.length === limit ? events[limit - 1].id : host.events.lastId;
    return json({ events, lastId });
  });

  app.get("/v1/events/stream", (c) => {
    // A stream's answer starts before the request ends; a request body that then ends short
    // would drop the connection with no answer at all. The stream takes no body: say so at once.
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > 0 || c.req.header("transfer-encoding") !== undefined) {
      throw new PagletError("bad_request", "GET /v1/events/stream takes no request body");
    }
    const q = eventsQuery(c);
    const header = c.req.header("last-event-id");
    if (header !== undefined && !/^\d+$/.test(header.trim())) {
      throw new PagletError(
        "bad_request",
        `Last-Event-ID must be an event id (a whole number): got '${header}'`,
      );
    }
    const lastEventId = Number(header ?? q.since ?? host.events.lastId);
    const encoder = new TextEncoder();
    let unsubscribe = () => {};
    let keepalive: Timer | undefined;
    let endOnStop = () => {};
    let counted = true;
    host.eventStreams++;
    const uncount = () => {
      if (counted) host.eventStreams--;
      counted = false;
    };
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        // The answer starts at once (a client sees it is connected even before an event), and ends
        // when the host stops: an open stream must never keep a stopping host alive.
        controller.enqueue(encoder.encode(": connected\n\n"));
        endOnStop = () => {
          uncount();
          unsubscribe();
          cancel(keepalive);
          try {
            controller.enqueue(encoder.encode(`event: host-stopping\ndata: {}\n\n`));
            controller.close();
          } catch { /* the client already left */ }
        };
        if (host.stopping.aborted) return endOnStop();
        host.stopping.addEventListener("abort", endOnStop, { once: true });
        const send = (e: { id: number; kind: string }) => {
          if (q.kind && !q.kind.has(e.kind)) return;
          try {
            controller.enqueue(
              encoder.encode(`id: ${e.id}\nevent: ${e.kind}\ndata: ${stringifyTagged(e)}\n\n`),
            );
          } catch {
            unsubscribe();
          }
        };
        for (const e of host.events.since(lastEventId, 2000)) send(e);
        unsubscribe = host.events.subscribe(send);
        keepalive = every(15_000, () => {
          try {
            controller.enqueue(encoder.encode(": keepalive\n\n"));
          } catch {
            cancel(keepalive);
          }
        });
      },
      cancel() {
        uncount();
        unsubscribe();
        cancel(keepalive);
        host.stopping.removeEventListener("abort", endOnStop);
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
    });
  });
}

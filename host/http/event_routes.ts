/** /v1/events (recent events) and /v1/events/stream (Server-Sent Events). */
import type { Context, Hono } from "hono";
import { z } from "zod";
import { PagletError } from "../../agents/errors.ts";
import { validate } from "../../agents/operations.ts";
import { KEEPALIVE_HEADER, stringifyTagged } from "../../agents/wire.ts";
import type { Host } from "../host.ts";
import { json, queryInt } from "./body.ts";
import { cancel, every, type Timer } from "../../agents/timers.ts";

const EventsQuery = z.object({
  since: queryInt(z.number().int().min(0)).optional(),
  limit: queryInt(z.number().int().positive().max(2000)).optional(),
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

/** Bytes of frames a stream lets wait for its client before it stops taking events from the log. */
export const STREAM_BACKLOG_BYTES = 1024 * 1024;
/** Events a stream takes from the log at a time. */
const PUMP_BATCH = 64;

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
    // A cursor past the host's latest event (one from before a restart) starts at the latest.
    let cursor = Math.min(Number(header ?? q.since ?? host.events.lastId), host.events.lastId);
    const encoder = new TextEncoder();
    let unsubscribe = () => {};
    let pumpNow = () => {};
    let keepalive: Timer | undefined;
    let endOnStop = () => {};
    let counted = true;
    host.eventStreams++;
    const uncount = () => {
      if (counted) host.eventStreams--;
      counted = false;
    };
    // The stream reads the host's event log at its client's pace: an event is taken from the log
    // only while less than STREAM_BACKLOG_BYTES wait to be sent, so a client that reads slowly, or
    // not at all, holds that much memory and no more. Events that leave the log before it took them
    // are skipped, as for a `since` older than the log.
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
        const room = () => (controller.desiredSize ?? 0) > 0;
        // An enqueue may call pull() at once, which pumps: one pump at a time.
        let pumping = false;
        const pump = () => {
          if (pumping) return;
          pumping = true;
          try {
            while (room()) {
              const events = host.events.since(cursor, PUMP_BATCH, q.kind);
              for (const e of events) {
                cursor = e.id;
                controller.enqueue(
                  encoder.encode(`id: ${e.id}\nevent: ${e.kind}\ndata: ${stringifyTagged(e)}\n\n`),
                );
                if (!room()) return;
              }
              // Fewer than asked: every event up to the latest was looked at.
              if (events.length < PUMP_BATCH) {
                cursor = Math.max(cursor, host.events.lastId);
                return;
              }
            }
          } catch {
            unsubscribe();
          } finally {
            pumping = false;
          }
        };
        pumpNow = pump;
        pump();
        unsubscribe = host.events.subscribe(pump);
        keepalive = every(host.options.sseKeepaliveMs, () => {
          try {
            // A stream with frames waiting needs no keepalive (and must not queue more).
            if (room()) controller.enqueue(encoder.encode(": keepalive\n\n"));
          } catch {
            cancel(keepalive);
          }
        });
      },
      // The client took frames: take more from the log (a replay goes on at the client's pace).
      pull() {
        pumpNow();
      },
      cancel() {
        uncount();
        unsubscribe();
        cancel(keepalive);
        host.stopping.removeEventListener("abort", endOnStop);
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: STREAM_BACKLOG_BYTES }));
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
        [KEEPALIVE_HEADER]: String(host.options.sseKeepaliveMs),
      },
    });
  });
}

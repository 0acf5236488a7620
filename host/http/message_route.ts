/**
 * `POST /v1/agents/:id/messages`, the hot path of the API: served in front of the Hono app
 * ({@link apiHandler}) so that a message pays for none of the generic request machinery (routing
 * through every route, a context object, two middleware layers), only for what it needs: the same
 * admission (key, readiness), the same body limits and validation, the same metrics series and
 * error answers as every other route. The Hono app registers the same function for the route, so a
 * request the fast check does not recognise (an id that needs decoding, another method) is served
 * the same way.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { validate } from "../../agents/operations.ts";
import { encodeCborParts } from "../../agents/cbor.ts";
import { CBOR_TYPE } from "../../agents/wire.ts";
import { AgentRuntime } from "../kernel/agent_runtime.ts";
import { isValidAgentId } from "../kernel/ids.ts";
import type { Host } from "../host.ts";
import { json, readRequestCbor, readRequestJson } from "./body.ts";
import type { Handler } from "./connection_gate.ts";

/**
 * Messages also travel as CBOR (hosts send it to each other: bigints and bytes stay binary, a big
 * bigint costs no decimal conversion): a `content-type: application/cbor` body is CBOR, and an
 * `accept: application/cbor` request gets its answer as CBOR. Everyone else gets JSON.
 */
export { CBOR_TYPE };

/** The route's template, as the metrics name it. */
export const MESSAGE_ROUTE = "/v1/agents/:id/messages";

const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

const MessageBody = z.object({
  kind: z.string().min(1),
  args: z.record(z.string(), z.unknown()).optional(),
  priority: z.number().int().min(0).max(10).optional(),
  oneway: z.boolean().optional(),
  noDelay: z.boolean().optional(),
  timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
  sender: z.string().optional(),
  /** Kept when a host forwards a message, so the receiver sees the sender's message id. */
  id: z.string().min(1).max(200).optional(),
});
type MessageBody = z.infer<typeof MessageBody>;

function optional(value: unknown, type: "boolean" | "string"): boolean {
  return value === undefined || typeof value === type;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The body as {@link MessageBody} reads it. A body of the usual shape is checked field by field
 * here (the schema costs microseconds per message); anything else goes through the schema, which
 * answers a bad body with its issues.
 */
function messageBody(value: Record<string, unknown>): MessageBody {
  const { kind, args, priority, oneway, noDelay, timeoutMs, sender, id } = value;
  if (
    typeof kind === "string" && kind.length > 0 &&
    (args === undefined || isPlainObject(args)) &&
    (priority === undefined || (Number.isInteger(priority) && (priority as number) >= 0 &&
      (priority as number) <= 10)) &&
    optional(oneway, "boolean") && optional(noDelay, "boolean") && optional(sender, "string") &&
    (timeoutMs === undefined || (Number.isInteger(timeoutMs) && (timeoutMs as number) > 0 &&
      (timeoutMs as number) <= MAX_TIMEOUT_MS)) &&
    (id === undefined || (typeof id === "string" && id.length >= 1 && id.length <= 200))
  ) {
    return value as MessageBody; // its other fields are never read
  }
  return validate(MessageBody, value, "message");
}

function isCbor(request: Request): boolean {
  const type = request.headers.get("content-type");
  // Most bodies are JSON: only a type that names CBOR at all pays for the exact check.
  return type !== null && /cbor/i.test(type) && type.split(";")[0].trim().toLowerCase() === CBOR_TYPE;
}

function readMessageBody(request: Request, max: number): Promise<Record<string, unknown>> {
  return isCbor(request) ? readRequestCbor(request, max) : readRequestJson(request, max);
}

function answer(request: Request, value: unknown, status = 200): Response {
  if (!(request.headers.get("accept") ?? "").includes(CBOR_TYPE)) return json(value, status);
  // Large byte strings (a drain of Pi digits) go out from where they are, not copied into one buffer:
  // a reply's bytes are its own by now (a structured clone, decoded CBOR, or shared digits nobody
  // changes once made).
  const parts = encodeCborParts(value) as Uint8Array<ArrayBuffer>[];
  return new Response(parts.length === 1 ? parts[0] : ReadableStream.from(parts), {
    status,
    headers: { "content-type": CBOR_TYPE },
  });
}

/** Sends the message of `request` to agent `id` (already checked) and answers its reply. */
export async function postMessage(host: Host, request: Request, id: string): Promise<Response> {
  const body = messageBody(await readMessageBody(request, host.options.maxBodyBytes));
  const message = AgentRuntime.message(body, body.sender);
  if (body.id) message.id = body.id;
  // x-paglets-hops counts the hosts this message passed, so forwarding chains stay bounded.
  const hops = Number(request.headers.get("x-paglets-hops") ?? 0) || 0;
  const result = await host.router.route(id, message, {
    oneway: body.oneway,
    noDelay: body.noDelay,
    timeoutMs: body.timeoutMs ?? 30_000,
    hops,
  });
  // A handler that returns nothing answers `{"reply": null}`: the answer keeps its shape (JSON has no undefined).
  if ("reply" in result) return answer(request, { reply: result.reply === undefined ? null : result.reply });
  return answer(request, result, 202);
}

const PREFIX = "/v1/agents/";
const SUFFIX = "/messages";

/** The agent id of a request URL that is exactly `/v1/agents/{valid id}/messages` (query allowed), else null. */
export function messageTarget(url: string): string | null {
  // The path starts at the first "/" after "scheme://".
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0 || !url.startsWith(PREFIX, start)) return null;
  const query = url.indexOf("?", start);
  const end = query < 0 ? url.length : query;
  if (end - start <= PREFIX.length + SUFFIX.length || !url.endsWith(SUFFIX, end)) return null;
  const id = url.slice(start + PREFIX.length, end - SUFFIX.length);
  return isValidAgentId(id) ? id : null;
}

/**
 * The host's request handler: messages to agents directly, everything else through the Hono app.
 * `admit` and `failed` are the app's own admission check and error answer (http/app.ts).
 */
export function apiHandler(
  host: Host,
  app: Hono,
  admit: (path: string, request: Request) => Response | null,
  failed: (err: unknown) => Response,
): Handler {
  const fetch = app.fetch;
  const serve = async (request: Request, id: string, started: number): Promise<Response> => {
    let response: Response;
    try {
      response = admit("/v1/agents", request) ??
        await postMessage(host, request, id);
    } catch (err) {
      response = failed(err);
    }
    host.metrics.recordRequest(MESSAGE_ROUTE, "POST", response.status, started);
    return response;
  };
  return (request) => {
    if (request.method === "POST") {
      const id = messageTarget(request.url);
      if (id !== null) return serve(request, id, performance.now());
    }
    return fetch(request);
  };
}

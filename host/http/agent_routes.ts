/** /v1/agents: list, create, inspect, message, deactivate, activate, dispose. */
import type { Context, Hono } from "hono";
import { z } from "zod";
import { PagletError } from "../../agents/errors.ts";
import { validate } from "../../agents/operations.ts";
import { decodeCbor } from "../../agents/cbor.ts";
import type { AgentRecord } from "../storage/agent_store.ts";
import type { Host } from "../host.ts";
import { isValidAgentId } from "../kernel/ids.ts";
import { MAX_WAKE_SECONDS } from "../../agents/policy.ts";
import { json, queryInt, readJson } from "./body.ts";
import { MESSAGE_ROUTE, postMessage } from "./message_route.ts";

export { CBOR_TYPE } from "./message_route.ts";

const plainObject = z.record(z.string(), z.unknown());

const CreateBody = z.object({
  // An empty type is most often a class that extends Paglet without a type of its own.
  type: z.string().min(
    1,
    'a paglet type is required: a class that extends Paglet names it with `static override readonly type = "…"`',
  ),
  // Checked by the runtime, so a state of the wrong shape answers `invalid_state` like one that
  // fails the type's own schema.
  state: z.unknown().optional(),
  args: plainObject.optional(),
  id: z.string().refine(isValidAgentId, "must be 1-128 letters, digits, '.', '_' or '-'").optional(),
  /** Hash of the travelling module defining `type` (PUT /v1/code, or `codeFrom` has it). */
  code: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits").optional(),
  /** Base URL of a host to fetch `code` from when this host lacks it. */
  codeFrom: z.string().url().optional(),
});

const PolicyBody = z.object({
  policy: z.object({
    // Checked with the rest of the policy (agents/policy.ts): invalid_request naming it.
    activateAt: z.number().nullable().optional(),
    afterSeconds: z.number().min(0).max(MAX_WAKE_SECONDS).optional(),
    activateOnMessage: z.boolean().optional(),
    queueMessagesWhenInactive: z.boolean().optional(),
    activateOnStartup: z.boolean().optional(),
  }).optional(),
});

const ListQuery = z.object({
  status: z.enum(["active", "inactive", "crashed"]).optional(),
  type: z.string().optional(),
  limit: queryInt(z.number().int().positive().max(100_000)).optional(),
});

/** The JSON view of an agent record. */
export async function recordView(
  host: Host,
  record: AgentRecord,
  withState = true,
): Promise<Record<string, unknown>> {
  const view: Record<string, unknown> = {
    id: record.id,
    type: record.type,
    status: record.status,
    host: host.info.url,
    hostName: host.info.name,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    policy: record.policy,
    wakeAt: record.wakeAt ?? null,
    queuedMessages: record.status === "inactive" ? await host.store.queuedCount(record.id) : 0,
  };
  const live = host.runtime.find(record.id);
  if (live) {
    view.worker = live.slot.index;
    // A departure under way: the agent's own transition, or a handoff another part of the host
    // holds it for (a dispatch before its detach, an arrival starting).
    view.transition = live.transitionKind ?? (host.runtime.isHeld(record.id) ? "handoff" : null);
    view.mailbox = {
      queued: live.mailbox.queued,
      busy: live.mailbox.busy,
      delivered: live.mailbox.delivered,
      failed: live.mailbox.failed,
    };
  }
  if (record.status === "moving") {
    // Held by a departure its target has not confirmed (none: an arrival not started yet).
    const departure = host.runtime.departureOf(record.id);
    if (departure) view.departure = departure;
  }
  if (record.meta.crashError) view.error = record.meta.crashError;
  if (typeof record.meta.code === "string") view.code = record.meta.code;
  if (withState) view.state = record.state.length ? decodeCbor(record.state) : {};
  return view;
}

function agentId(c: Context): string {
  const id = c.req.param("id") ?? "";
  if (!isValidAgentId(id)) throw new PagletError("bad_request", `Malformed agent id '${id}'`);
  return id;
}

export function agentRoutes(app: Hono, host: Host): void {
  const max = host.options.maxBodyBytes;

  app.get("/v1/agents", async (c) => {
    const q = validate(ListQuery, c.req.query(), "query");
    const records = await host.store.list({ status: q.status, type: q.type, limit: q.limit });
    return json({ agents: await Promise.all(records.map((r) => recordView(host, r, false))) });
  });

  app.post("/v1/agents", async (c) => {
    const body = validate(CreateBody, await readJson(c, max), "create request");
    const record = await host.runtime.create(body as typeof body & { state?: Record<string, unknown> });
    return json({ id: record.id, type: record.type, host: host.info.url, status: record.status }, 201);
  });

  app.get("/v1/agents/:id", async (c) => {
    const id = agentId(c);
    const record = await host.runtime.record(id);
    if (record) return json(await recordView(host, record));
    const movedTo = await host.store.movedTo(id);
    // Where that host is now, if it came back at another address.
    if (movedTo) return json({ id, movedTo: host.remote?.locate(movedTo) ?? movedTo.url });
    throw new PagletError("agent_not_found", `No agent ${id} on this host`);
  });

  // Served in front of the app (message_route.ts); here for a request that fast check leaves to Hono.
  app.post(MESSAGE_ROUTE, (c) => postMessage(host, c.req.raw, agentId(c)));

  app.post("/v1/agents/:id/deactivate", async (c) => {
    const id = agentId(c);
    const body = validate(PolicyBody, await readJson(c, max), "deactivate request");
    const record = await host.runtime.deactivate(id, body.policy ?? {}, "external");
    return json(await recordView(host, record));
  });

  app.post("/v1/agents/:id/activate", async (c) => {
    const id = agentId(c);
    await host.runtime.activate(id, "external");
    const record = await host.runtime.record(id);
    if (!record) throw new PagletError("agent_not_found", `Agent ${id} left this host during the request`);
    return json(await recordView(host, record));
  });

  app.delete("/v1/agents/:id", async (c) => {
    const id = agentId(c);
    await host.runtime.dispose(id);
    return json({ ok: true, id });
  });
}

/** Host events: the recent list with since/limit, and the same as a Server-Sent Events stream. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { call, fixtureHost } from "./helpers.ts";

type Event = { id: number; kind: string; agentId?: string; type?: string };

Deno.test("GET /v1/events lists recent events oldest first, paged with since and limit", async () => {
  await using h = await fixtureHost();
  const url = h.host.url;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await h.client.createAgent({ type: "demo.counter" })).id);
  const all = await call<{ events: Event[]; lastId: number }>(url, "GET", "/v1/events?limit=1000");
  assertEquals(all.status, 200);
  const creates = all.body.events.filter((e) => e.kind === "create");
  assertEquals(creates.map((e) => e.agentId), ids);
  assert(creates.every((e) => e.type === "demo.counter"));
  const eventIds = all.body.events.map((e) => e.id);
  assertEquals(eventIds, [...eventIds].sort((a, b) => a - b));
  assertEquals(all.body.lastId, eventIds[eventIds.length - 1]);

  const since = creates[0].id;
  const page = await call<{ events: Event[] }>(url, "GET", `/v1/events?since=${since}&limit=1`);
  assertEquals(page.body.events.length, 1);
  assert(page.body.events[0].id > since);
  const byKind = await call<{ events: Event[] }>(url, "GET", "/v1/events?kind=create&limit=1000");
  assertEquals(byKind.body.events.map((e) => e.agentId), ids);
});

Deno.test("the SSE stream delivers a create event as it happens", async () => {
  await using h = await fixtureHost();
  const controller = new AbortController();
  const res = await fetch(`${h.host.url}/v1/events/stream`, { signal: controller.signal });
  try {
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/event-stream");
    const { id } = await h.client.createAgent({ type: "demo.counter" });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!text.includes(id) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const frame = text.split("\n\n").find((f) => f.includes(id));
    assert(frame, `no SSE frame for ${id} in ${text.slice(0, 500)}`);
    assert(frame.includes("event: create"), frame);
    assert(/^id: \d+$/m.test(frame), frame);
    const data = JSON.parse(frame.split("\n").find((l) => l.startsWith("data: "))!.slice(6)) as Event;
    assertEquals([data.kind, data.agentId, data.type], ["create", id, "demo.counter"]);
    await reader.cancel();
  } finally {
    controller.abort();
    await res.body?.cancel().catch(() => {});
  }
});

Deno.test("the SSE stream replays events after Last-Event-ID", async () => {
  await using h = await fixtureHost();
  const { id } = await h.client.createAgent({ type: "demo.counter" });
  const res = await fetch(`${h.host.url}/v1/events/stream`, { headers: { "last-event-id": "0" } });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes(id)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  assert(text.includes("event: context-start"), "replay starts with the host's first events");
  assert(text.includes(id));
});

Deno.test("GET /v1/events filters by kind before the limit, and lastId pages on from what was answered", async () => {
  await using h = await fixtureHost();
  const url = h.host.url;
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const { id } = await h.client.createAgent({ type: "demo.counter" });
    ids.push(id);
    await h.client.send(id, { kind: "get" });
  }
  type Page = { events: Event[]; lastId: number };
  // Other events (services, deliveries) come between the creates: the limit counts creates only.
  const first = await call<Page>(url, "GET", "/v1/events?kind=create&limit=2");
  assertEquals(first.body.events.map((e) => e.agentId), ids.slice(0, 2));
  assertEquals(first.body.lastId, first.body.events[1].id, "cut by the limit: lastId is the last answered");
  const next = await call<Page>(url, "GET", `/v1/events?kind=create&limit=2&since=${first.body.lastId}`);
  assertEquals(next.body.events.map((e) => e.agentId), ids.slice(2));
  const rest = await call<Page>(url, "GET", `/v1/events?kind=create&limit=2&since=${next.body.lastId}`);
  assertEquals(rest.body.events, []);
  assertEquals(rest.body.lastId, h.host.events.lastId, "nothing cut: lastId is the host's latest");
  // Several kinds: comma-separated or the parameter repeated, the same answer.
  const both = "/v1/events?limit=1000&kind=create&kind=dispose";
  await h.client.dispose(ids[0]);
  const repeated = await call<Page>(url, "GET", both);
  const commas = await call<Page>(url, "GET", "/v1/events?limit=1000&kind=create,dispose");
  assertEquals(repeated.body.events.map((e) => e.kind), ["create", "create", "create", "create", "dispose"]);
  assertEquals(commas.body.events, repeated.body.events);
});

Deno.test("the SSE stream refuses a Last-Event-ID that is no event id instead of replaying everything", async () => {
  await using h = await fixtureHost();
  for (const bad of ["abc", "-50", "1.5"]) {
    const res = await fetch(`${h.host.url}/v1/events/stream`, { headers: { "last-event-id": bad } });
    const body = await res.json() as { error: { code: string; message: string } };
    assertEquals([res.status, body.error.code], [400, "bad_request"], bad);
    assert(body.error.message.includes("Last-Event-ID"), body.error.message);
  }
});

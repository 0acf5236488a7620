/**
 * The HTTP API of HTTP-API.md on a real host: routes and their field names, the error format, and
 * a 4xx with a code for every kind of bad input (never a 500).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type Answer, call, type ErrorBody, fixtureHost } from "./helpers.ts";

function assertError(answer: Answer<unknown>, status: number, code: string): void {
  const body = answer.body as ErrorBody;
  assertEquals(
    answer.status,
    status,
    `expected ${status} ${code}, got ${answer.status} ${JSON.stringify(body)}`,
  );
  assertEquals(body?.error?.code, code);
  assert(typeof body.error.message === "string" && body.error.message.length > 0, "an error has a message");
}

Deno.test("the agent routes answer with the documented fields", async (t) => {
  await using h = await fixtureHost();
  const url = h.host.url;

  await t.step("GET /v1/health names the host and its versions", async () => {
    const { status, body } = await call(url, "GET", "/v1/health");
    assertEquals(status, 200);
    for (const field of ["ok", "name", "version", "meshVersion", "url", "uptimeS"]) {
      assert(field in body, field);
    }
    assertEquals(body.ok, true);
    assertEquals(body.url, url);
  });

  await t.step("GET /v1/host reports identity, resources and agent counts", async () => {
    const { status, body } = await call(url, "GET", "/v1/host");
    assertEquals(status, 200);
    for (
      const field of [
        "name",
        "url",
        "tags",
        "properties",
        "cpuCount",
        "load1",
        "memAvailable",
        "diskFree",
        "agents",
        "affinitySupported",
      ]
    ) assert(field in body, field);
    assert(typeof body.affinitySupported === "boolean");
  });

  let id = "";
  await t.step("POST /v1/agents merges state over the initial state and answers 201", async () => {
    const { status, body } = await call(url, "POST", "/v1/agents", {
      type: "demo.counter",
      state: { count: 40 },
      args: { tag: "x" },
    });
    assertEquals(status, 201);
    assertEquals(Object.keys(body).sort(), ["host", "id", "status", "type"]);
    assert(String(body.id).startsWith("ag_"));
    assertEquals([body.type, body.host, body.status], ["demo.counter", url, "active"]);
    id = String(body.id);
  });

  await t.step("GET /v1/agents/:id shows status, policy, queued messages and state", async () => {
    const { status, body } = await call(url, "GET", `/v1/agents/${id}`);
    assertEquals(status, 200);
    for (const field of ["id", "type", "status", "host", "createdAt", "policy", "queuedMessages", "state"]) {
      assert(field in body, field);
    }
    assertEquals(body.status, "active");
    assertEquals(body.state, { count: 40, events: ["creation:test"] });
  });

  await t.step("POST /v1/agents/:id/messages answers 200 {reply}, oneway answers 202", async () => {
    const reply = await call(url, "POST", `/v1/agents/${id}/messages`, {
      kind: "increment",
      args: { by: 2 },
    });
    assertEquals([reply.status, reply.body], [200, { reply: { count: 42 } }]);
    const oneway = await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "increment", oneway: true });
    assertEquals(oneway.status, 202);
    // A handler that returns nothing: the answer keeps its shape.
    const sloppy = await call<{ id: string }>(url, "POST", "/v1/agents", { type: "kernel.sloppy" });
    const nothing = await call(url, "POST", `/v1/agents/${sloppy.body.id}/messages`, { kind: "nothing" });
    assertEquals([nothing.status, nothing.body], [200, { reply: null }]);
  });

  await t.step("bigint and bytes travel as tagged JSON", async () => {
    const { body } = await call(url, "POST", `/v1/agents/${id}/messages`, {
      kind: "echo",
      args: { big: { $bigint: "123456789012345678901234567890" }, raw: { $bytes: "AQID" } },
    });
    assertEquals(body, {
      reply: { big: { $bigint: "123456789012345678901234567890" }, raw: { $bytes: "AQID" } },
    });
  });

  await t.step("GET /v1/agents lists records and filters by status and type", async () => {
    const other = await call(url, "POST", "/v1/agents", { type: "kernel.recorder" });
    const all = await call<{ agents: { id: string; type: string; status: string }[] }>(
      url,
      "GET",
      "/v1/agents",
    );
    assertEquals(all.status, 200);
    assert(all.body.agents.some((a) => a.id === id) && all.body.agents.some((a) => a.id === other.body.id));
    const counters = await call<{ agents: { type: string }[] }>(url, "GET", "/v1/agents?type=demo.counter");
    assert(counters.body.agents.every((a) => a.type === "demo.counter"));
    const inactive = await call<{ agents: unknown[] }>(url, "GET", "/v1/agents?status=inactive");
    assertEquals(inactive.body.agents, []);
  });

  await t.step("POST /v1/agents/:id/deactivate answers the inactive record with its policy", async () => {
    // A wake-up no clock reaches is refused, not stored.
    for (const policy of [{ afterSeconds: 1e300 }, { activateAt: 1e20 }, { activateAt: -5 }]) {
      const refused = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/deactivate`, { policy });
      assertEquals(
        [refused.status, refused.body.error.code],
        [422, "invalid_request"],
        JSON.stringify(policy),
      );
    }
    const { status, body } = await call(url, "POST", `/v1/agents/${id}/deactivate`, {
      policy: { activateOnMessage: false, afterSeconds: 3600 },
    });
    assertEquals(status, 200);
    assertEquals(body.status, "inactive");
    const policy = body.policy as Record<string, unknown>;
    assertEquals(policy.activateOnMessage, false);
    assert(Number(policy.activateAt) > Date.now() + 3_500_000);
  });

  await t.step("POST /v1/agents/:id/activate answers the active record", async () => {
    const { status, body } = await call(url, "POST", `/v1/agents/${id}/activate`);
    assertEquals(status, 200);
    assertEquals(body.status, "active");
    assertEquals((body.state as { count: number }).count, 43);
  });

  await t.step("DELETE /v1/agents/:id disposes; the agent is then unknown", async () => {
    const { status } = await call(url, "DELETE", `/v1/agents/${id}`);
    assertEquals(status, 200);
    assertError(await call(url, "GET", `/v1/agents/${id}`), 404, "agent_not_found");
  });
});

Deno.test("bad input answers a documented 4xx with a code and a message", async (t) => {
  await using h = await fixtureHost({ apiKey: "s3cret", maxBodyBytes: 4096 });
  const url = h.host.url;
  const auth = { authorization: "Bearer s3cret" };
  const { body: created } = await call(url, "POST", "/v1/agents", { type: "demo.counter" }, auth);
  const id = String(created.id);

  await t.step("a missing API key answers 401 unauthorized", async () => {
    assertError(await call(url, "GET", "/v1/agents"), 401, "unauthorized");
    assertError(await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "get" }), 401, "unauthorized");
  });

  await t.step("a wrong API key answers 401 unauthorized", async () => {
    const answer = await call(url, "GET", "/v1/agents", undefined, { authorization: "Bearer s3crex" });
    assertError(answer, 401, "unauthorized");
    assertEquals(answer.headers.get("www-authenticate"), "Bearer");
    assertError(
      await call(url, "GET", "/v1/agents", undefined, { authorization: "Basic s3cret" }),
      401,
      "unauthorized",
    );
  });

  await t.step("GET /v1/health needs no key", async () => {
    assertEquals((await call(url, "GET", "/v1/health")).status, 200);
  });

  await t.step("malformed JSON answers 400 malformed_json", async () => {
    assertError(
      await call(url, "POST", "/v1/agents", '{"type": "demo.counter"', auth),
      400,
      "malformed_json",
    );
    assertError(
      await call(url, "POST", `/v1/agents/${id}/messages`, "{kind: get}", auth),
      400,
      "malformed_json",
    );
  });

  await t.step("a JSON body that is not an object answers 400 bad_request", async () => {
    assertError(await call(url, "POST", "/v1/agents", "[1, 2]", auth), 400, "bad_request");
    assertError(await call(url, "POST", `/v1/agents/${id}/messages`, "null", auth), 400, "bad_request");
  });

  await t.step("an unknown paglet type answers 422 unknown_agent_type", async () => {
    assertError(
      await call(url, "POST", "/v1/agents", { type: "no.such.type" }, auth),
      422,
      "unknown_agent_type",
    );
  });

  await t.step("an invalid state answers 422 invalid_state", async () => {
    assertError(
      await call(url, "POST", "/v1/agents", { type: "kernel.strict", state: { count: -1 } }, auth),
      422,
      "invalid_state",
    );
    assertError(
      await call(url, "POST", "/v1/agents", { type: "demo.counter", state: [1] }, auth),
      422,
      "invalid_state",
    );
    assertError(
      await call(url, "POST", "/v1/agents", { type: "demo.counter", state: "x" }, auth),
      422,
      "invalid_state",
    );
  });

  await t.step("a body over maxBodyBytes answers 413 payload_too_large", async () => {
    const big = { type: "demo.counter", state: { pad: "x".repeat(5000) } };
    assertError(await call(url, "POST", "/v1/agents", big, auth), 413, "payload_too_large");
    // Without a Content-Length (a stream), the limit is enforced while reading.
    const stream = new Blob([JSON.stringify(big)]).stream();
    assertError(await call(url, "POST", "/v1/agents", stream, auth), 413, "payload_too_large");
  });

  await t.step("a malformed agent id answers 400 bad_request", async () => {
    assertError(await call(url, "GET", "/v1/agents/bad%20id!", undefined, auth), 400, "bad_request");
    assertError(
      await call(url, "DELETE", `/v1/agents/${"x".repeat(300)}`, undefined, auth),
      400,
      "bad_request",
    );
  });

  await t.step("an unknown agent answers 404 agent_not_found on every route", async () => {
    const ghost = "ag_doesnotexist";
    assertError(await call(url, "GET", `/v1/agents/${ghost}`, undefined, auth), 404, "agent_not_found");
    assertError(
      await call(url, "POST", `/v1/agents/${ghost}/messages`, { kind: "get" }, auth),
      404,
      "agent_not_found",
    );
    assertError(await call(url, "POST", `/v1/agents/${ghost}/deactivate`, {}, auth), 404, "agent_not_found");
    assertError(await call(url, "POST", `/v1/agents/${ghost}/activate`, {}, auth), 404, "agent_not_found");
    assertError(await call(url, "DELETE", `/v1/agents/${ghost}`, undefined, auth), 404, "agent_not_found");
  });

  await t.step("an unknown route answers 404 route_not_found", async () => {
    assertError(await call(url, "GET", "/v1/nothing-here", undefined, auth), 404, "route_not_found");
    assertError(await call(url, "PUT", "/v1/agents", {}, auth), 404, "route_not_found");
  });

  await t.step("an invalid message answers 422 invalid_request", async () => {
    assertError(
      await call(url, "POST", `/v1/agents/${id}/messages`, { args: {} }, auth),
      422,
      "invalid_request",
    );
    assertError(
      await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "get", priority: 11 }, auth),
      422,
      "invalid_request",
    );
    assertError(
      await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "get", timeoutMs: -5 }, auth),
      422,
      "invalid_request",
    );
    assertError(
      await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "get", args: [1] }, auth),
      422,
      "invalid_request",
    );
    // A kind names a handler: past 200 characters it is no kind (each failure event would carry it).
    assertError(
      await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "k".repeat(201) }, auth),
      422,
      "invalid_request",
    );
    assertError(
      await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "k".repeat(200) }, auth),
      422,
      "not_handled",
    );
  });

  await t.step("a message the paglet does not handle answers 422 not_handled", async () => {
    assertError(
      await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "fly" }, auth),
      422,
      "not_handled",
    );
  });

  await t.step("an invalid query or policy answers 422 invalid_request", async () => {
    assertError(await call(url, "GET", "/v1/agents?status=sleepy", undefined, auth), 422, "invalid_request");
    assertError(await call(url, "GET", "/v1/events?limit=0", undefined, auth), 422, "invalid_request");
    // Query numbers are decimal digits, as on the command line.
    for (const query of ["/v1/agents?limit=0x10", "/v1/events?since=1e3", "/v1/events?limit=%2010"]) {
      assertError(await call(url, "GET", query, undefined, auth), 422, "invalid_request");
    }
    assertEquals((await call(url, "GET", "/v1/agents?limit=16", undefined, auth)).status, 200);
    const both = { policy: { activateAt: Date.now() + 60_000, afterSeconds: 60 } };
    assertError(await call(url, "POST", `/v1/agents/${id}/deactivate`, both, auth), 422, "invalid_request");
    const badPolicy = { policy: { activateOnMessage: "yes" } };
    assertError(
      await call(url, "POST", `/v1/agents/${id}/deactivate`, badPolicy, auth),
      422,
      "invalid_request",
    );
  });

  await t.step("tagged values that do not decode answer 400 malformed_json", async () => {
    const bad = { kind: "echo", args: { when: { $date: "not a date" } } };
    assertError(await call(url, "POST", `/v1/agents/${id}/messages`, bad, auth), 400, "malformed_json");
    // Every tag decodes or is refused: none is stored as the data it looks like.
    for (
      const tagged of [
        { $bigint: "x" },
        { $bigint: 5 },
        { $bigint: "1.5" },
        { $bytes: 5 },
        { $date: 5 },
        { $map: 5 },
        { $map: [[1]] },
        { $set: 5 },
      ]
    ) {
      const answer = await call<ErrorBody>(
        url,
        "POST",
        "/v1/agents",
        { type: "demo.counter", state: { v: tagged } },
        auth,
      );
      assertError(answer, 400, "malformed_json");
      assert(answer.body.error.message.includes(Object.keys(tagged)[0]), answer.body.error.message);
    }
    const deep = "[".repeat(5000) + "]".repeat(5000);
    const answer = await call(
      url,
      "POST",
      "/v1/agents",
      `{"type":"demo.counter","state":{"a":${deep}}}`,
      auth,
    );
    assertError(answer, 413, "payload_too_large"); // 10 KB is over this host's 4 KB limit
  });

  await t.step("random and hostile bodies never answer 5xx", async () => {
    const bodies = [
      "",
      " ",
      "true",
      "0",
      '"x"',
      "{}",
      '{"type": 5}',
      '{"type": null}',
      '{"type": "demo.counter", "state": null}',
      '{"type": "demo.counter", "state": {"__proto__": {"x": 1}}}',
      '{"type": "demo.counter", "id": "../../etc"}',
      '{"type": "demo.counter", "args": "x"}',
      '{"kind": ""}',
      '{"kind": "get", "noDelay": "yes"}',
      '{"kind": "get", "oneway": 1}',
      '{"policy": []}',
      '{"policy": {"activateAt": "soon"}}',
      '{"a":' + "[".repeat(600) + "]".repeat(600) + "}",
      '{"x": {"$bytes": "%%%"}}',
      '{"x": {"$bigint": "12a"}}',
      "\u0000\u0001",
      "\xff\xfe",
    ];
    const paths = [
      "/v1/agents",
      `/v1/agents/${id}/messages`,
      `/v1/agents/${id}/deactivate`,
      `/v1/agents/${id}/activate`,
    ];
    for (const path of paths) {
      for (const body of bodies) {
        const answer = await call(url, "POST", path, body, auth);
        assert(
          answer.status < 500,
          `POST ${path} ${JSON.stringify(body).slice(0, 60)} answered ${answer.status}`,
        );
        if (answer.status >= 400) assert(typeof (answer.body as ErrorBody).error?.code === "string");
      }
    }
    // The agent survived all of it.
    assertEquals((await call(url, "POST", `/v1/agents/${id}/messages`, { kind: "get" }, auth)).status, 200);
  });
});

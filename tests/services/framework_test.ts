import { ServiceClient } from "../../services/client.ts";
import { Load } from "../../services/server_info/contract.ts";
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { eventually } from "../helpers/in_process.ts";
import { registryOf, serviceHost } from "./helpers.ts";

Deno.test("GET /v1/services lists server-info, mesh-info and user-info with their contracts", async () => {
  await using t = await serviceHost();
  const services = await ServiceClient.connect(t.host.url).list();
  const byName = Object.fromEntries(services.map((s) => [s.name, s]));
  assertEquals(Object.keys(byName).sort(), ["mesh-info", "server-info", "user-info"]);
  assertEquals(
    [byName["server-info"].lifecycle, byName["mesh-info"].lifecycle, byName["user-info"].lifecycle],
    ["lazy", "eager", "lazy"],
  );
  assertEquals(byName["mesh-info"].running, true, "an eager service runs from host start");
  assertEquals(byName["server-info"].running, false, "a lazy service waits for its first call");
  assertEquals(byName["server-info"].operations, ["summary", "load", "df", "ps"]);
  assertEquals(byName["mesh-info"].operations, ["snapshot", "landscape", "sync", "select-targets"]);
  assertEquals(byName["user-info"].operations, ["notify", "stream", "recent"]);
  assert(services.every((s) => s.version === "1" && s.scope === "mesh"));
});

Deno.test("GET /v1/services/:name describes the operations with JSON Schemas", async () => {
  await using t = await serviceHost();
  const d = await ServiceClient.connect(t.host.url).describe("server-info");
  const load = d.operationSchemas.find((o) => o.name === "load")!;
  assertEquals(
    (load.request as { properties: Record<string, unknown> }).properties.interval !== undefined,
    true,
  );
  await assertRejectsCode(() => ServiceClient.connect(t.host.url).describe("nope"), "service_not_found");
});

Deno.test("a lazy service starts on its first call and stops after its idle timeout, staying listed", async () => {
  await using t = await serviceHost();
  const services = ServiceClient.connect(t.host.url);
  const running = async () => (await services.list()).find((s) => s.name === "server-info")!.running;
  assertEquals(await running(), false);
  await services.call("server-info", Load, {});
  assertEquals(await running(), true);
  await eventually("server-info stopped for idleness", async () => !(await running()), 10_000);
  const kinds = (await t.client.events(0, 500)).events
    .filter((e) => (e.data as { service?: string })?.service === "server-info").map((e) => e.kind);
  assertEquals(kinds, ["service-register", "service-start", "service-stop"]);
  await services.call("server-info", Load, {});
  assertEquals(await running(), true, "a stopped lazy service starts again on the next call");
});

Deno.test("concurrent first calls over HTTP start a lazy service once", async () => {
  await using t = await serviceHost();
  const services = ServiceClient.connect(t.host.url);
  const replies = await Promise.all(
    Array.from({ length: 6 }, () => services.callRaw("user-info", "recent", {})),
  );
  assertEquals(replies.length, 6);
  assertEquals(registryOf(t.host).startCount("user-info"), 1);
});

Deno.test("bad calls answer 404 service_not_found / operation_not_found and 422 invalid_request", async () => {
  await using t = await serviceHost();
  const post = async (path: string, body: string) => {
    const res = await fetch(`${t.host.url}${path}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    return [res.status, (await res.json()).error?.code];
  };
  assertEquals(await post("/v1/services/nope/load", "{}"), [404, "service_not_found"]);
  assertEquals(await post("/v1/services/server-info/nope", "{}"), [404, "operation_not_found"]);
  assertEquals(await post("/v1/services/server-info/ps", '{"limit": -1}'), [422, "invalid_request"]);
  assertEquals(await post("/v1/services/mesh-info/select-targets", '{"maxLoadPerCpu": "high"}'), [
    422,
    "invalid_request",
  ]);
  assertEquals(await post("/v1/services/user-info/notify", '{"severity": "panic", "title": "x"}'), [
    422,
    "invalid_request",
  ]);
  assertEquals((await post("/v1/services/server-info/load", "[1, 2]"))[0], 400);
  const services = ServiceClient.connect(t.host.url);
  await assertRejectsCode(() => services.callRaw("server-info", "df", { paths: "/" }), "invalid_request");
});

Deno.test("a paglet calls services through its context, here and on another host", async () => {
  await using a = await serviceHost({ name: "a" });
  await using b = await serviceHost({ name: "b" });
  const { id } = await a.client.createAgent({ type: "test.service-caller" });
  const local = await a.client.send(id, { kind: "call", args: { service: "server-info", op: "load" } }) as {
    hostName: string;
  };
  assertEquals(local.hostName, "a");
  const remote = await a.client.send(id, {
    kind: "call",
    args: { service: "server-info", op: "load", host: b.host.url },
  }) as {
    hostName: string;
  };
  assertEquals(remote.hostName, "b");
  // Errors keep their codes across the context boundary.
  await assertRejectsCode(
    () => a.client.send(id, { kind: "call", args: { service: "nope", op: "x" } }),
    "service_not_found",
  );
  await assertRejectsCode(
    () => a.client.send(id, { kind: "call", args: { service: "server-info", op: "load", host: "atlantis" } }),
    "not_found",
  );
});

Deno.test("services.lookup finds this host locally and every online mesh host offering it", async () => {
  await using a = await serviceHost({ name: "a" });
  await using b = await serviceHost({ name: "b", peers: [a.host.url] });
  await eventually("a sees b online", () => a.host.remote?.isOnline("b"), 10_000);
  const { id } = await a.client.createAgent({ type: "test.service-caller" });
  const local = await a.client.send(id, {
    kind: "lookup",
    args: { service: "server-info", scope: "local" },
  }) as {
    offers: { hostName: string }[];
  };
  assertEquals(local.offers.map((o) => o.hostName), ["a"]);
  const mesh = await a.client.send(id, { kind: "lookup", args: { service: "server-info" } }) as {
    offers: { hostName: string; hostUrl: string; lifecycle: string }[];
  };
  assertEquals(mesh.offers.map((o) => o.hostName).sort(), ["a", "b"]);
  assertEquals(mesh.offers.find((o) => o.hostName === "b")?.hostUrl, b.host.url);
  const none = await a.client.send(id, { kind: "lookup", args: { service: "nope" } }) as {
    offers: unknown[];
  };
  assertEquals(none.offers, []);
});

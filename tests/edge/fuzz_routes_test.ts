/**
 * A structure-aware fuzz of every route of a real host process: requests shaped like each route's
 * documented body (right keys, wrong types, huge and deep values, tagged values that do not decode),
 * sent as JSON, CBOR, truncated text, raw bytes or nothing, with and without the API key, wrong
 * content types and encodings, odd path parameters and queries, and bodies that end short. Bounded
 * and seeded: `PAGLETS_FUZZ_SEED` replays a run, `PAGLETS_FUZZ_CASES` sets its length.
 *
 * Wanted: no `internal` error and no 5xx but the documented ones (a peer that cannot be reached,
 * a timeout), a coded JSON error on every 4xx, the host alive and its memory back near where it
 * started. Every string that could name a host is one on the loopback interface, so nothing leaves
 * this machine.
 */
import { encode as encodeCbor } from "cbor-x/encode";
import { assert } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { testHost } from "../helpers/in_process.ts";
import { prng } from "../helpers/prng.ts";
import { answerOf, readUntilClosed } from "../helpers/raw_http.ts";
import { buildApp } from "../../host/http/app.ts";

const SEED = Number(Deno.env.get("PAGLETS_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(Deno.env.get("PAGLETS_FUZZ_CASES") ?? 2000);
const KEY = "fuzz-key";
/** Documented server-side answers: a peer that cannot be reached, a wait that timed out, a busy host. */
const DOCUMENTED_5XX = new Set([
  "host_unreachable",
  "transfer_failed",
  "code_unavailable",
  "timeout",
  "task_timeout",
  "transfer_pending",
  "starting",
  "draining",
  "too_many_connections",
  "worker_lost",
  "executor_lost",
  "insufficient_storage",
]);

type Rand = () => number;

class Gen {
  readonly #r: Rand;
  constructor(r: Rand) {
    this.#r = r;
  }
  int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  chance(p: number): boolean {
    return this.#r() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Targets, peers and senders: only loopback addresses (a closed port, or this host itself). */
function safeUrls(self: string): string[] {
  return [self, `${self}/`, "http://127.0.0.1:9", "http://127.0.0.1:1/x", "ftp://127.0.0.1", "not a url", ""];
}

const JUNK_STRINGS = [
  "",
  " ",
  "demo.counter",
  "get",
  "increment",
  "dev",
  "../../etc/passwd",
  "\u0000",
  "🙂".repeat(40),
  "a b/c?d#e",
  "%00%2e%2e",
  "x".repeat(5000),
  "null",
  "{}",
  "0".repeat(64),
  "f".repeat(63),
];
const JUNK_NUMBERS = [0, -1, 1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e-308, 10, 86_400_001];
const KEYS = [
  "type",
  "state",
  "args",
  "id",
  "code",
  "kind",
  "count",
  "policy",
  "__proto__",
  "constructor",
  "$bigint",
  "$bytes",
  "n",
  "",
];

/** A random JSON-ish value; keys that may name a host get a loopback URL. */
function value(g: Gen, urls: string[], depth = 0): unknown {
  const roll = g.int(depth > 3 ? 5 : 9);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return g.chance(0.5);
    case 2:
      return g.pick(JUNK_NUMBERS);
    case 3:
      return g.pick(JUNK_STRINGS);
    case 4:
      return g.pick([{ $bigint: "12a" }, { $bigint: "-9".repeat(50) }, { $bytes: "%%%" }, {
        $bytes: "AAEC",
      }]);
    case 5:
    case 6:
      return Array.from({ length: g.int(4) }, () => value(g, urls, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = g.int(4); i > 0; i--) out[g.pick(KEYS)] = value(g, urls, depth + 1);
      return out;
    }
  }
}

interface Ctx {
  g: Gen;
  urls: string[];
  agentIds: string[];
  services: Record<string, string[]>;
}

function maybe<T>(g: Gen, make: () => T): T | undefined {
  return g.chance(0.7) ? make() : undefined;
}

/** A field of the right kind most of the time, of any kind otherwise. */
function field<T>(c: Ctx, make: () => T): unknown {
  return c.g.chance(0.75) ? make() : value(c.g, c.urls);
}

function policy(c: Ctx): unknown {
  const { g } = c;
  return field(c, () => ({
    activateAt: maybe(g, () => g.pick([null, Date.now() + 3_600_000, -1, 1e308, "soon"])),
    afterSeconds: maybe(g, () => g.pick([0, 3600, -5, "x"])),
    activateOnMessage: maybe(g, () => g.pick([true, false, 1])),
    queueMessagesWhenInactive: maybe(g, () => g.pick([true, false, "yes"])),
    activateOnStartup: maybe(g, () => g.pick([true, false, null])),
  }));
}

function agentId(c: Ctx): string {
  const { g } = c;
  return g.chance(0.6) && c.agentIds.length
    ? g.pick(c.agentIds)
    : g.pick(["nope", "a".repeat(300), "..", "%2e%2e", "%00", "🙂", "a b", "-", "x.y_z"]);
}

interface Shape {
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  raw?: Uint8Array<ArrayBuffer>;
}

/** Per route (method + Hono path), a request shaped like its documented input. */
function routeShapes(c: Ctx): Record<string, () => Shape> {
  const { g, urls } = c;
  const id = () => encodeURIComponent(agentId(c));
  const hex64 = () => g.pick(["0".repeat(64), "A".repeat(64), "g".repeat(64), "", "abc"]);
  const url = () => field(c, () => g.pick(urls));
  const serviceName = () => g.pick([...Object.keys(c.services), "nope", "%00", "a".repeat(200)]);
  return {
    "GET /": () => ({ path: "/" }),
    "GET /metrics": () => ({ path: "/metrics" }),
    "GET /v1/health": () => ({ path: "/v1/health" }),
    "GET /v1/host": () => ({ path: "/v1/host" }),
    "GET /v1/host/history": () => ({ path: "/v1/host/history" }),
    "GET /v1/dashboard/mesh": () => ({ path: "/v1/dashboard/mesh" }),
    "GET /v1/dashboard/agents/:id": () => ({
      path: `/v1/dashboard/agents/${id()}`,
      query: { host: g.pick(["fuzz", "nope", "", "http://127.0.0.1:1", "%00", "a".repeat(300)]) },
    }),
    "GET /v1/agents": () => ({
      path: "/v1/agents",
      query: {
        status: g.pick(["active", "inactive", "crashed", "x", ""]),
        limit: g.pick(["-1", "0", "5", "1e9", "x"]),
      },
    }),
    "GET /v1/agents/:id": () => ({ path: `/v1/agents/${id()}` }),
    "POST /v1/agents": () => ({
      path: "/v1/agents",
      body: field(c, () => ({
        type: field(c, () => g.pick(["demo.counter", "nope.type", ""])),
        state: maybe(g, () => value(g, urls)),
        args: maybe(g, () => value(g, urls)),
        id: maybe(g, () => g.pick(["ok-id", "a".repeat(200), "../x", ""])),
        code: maybe(g, hex64),
        codeFrom: maybe(g, url),
      })),
    }),
    "POST /v1/agents/:id/messages": () => ({
      path: `/v1/agents/${id()}/messages`,
      body: field(c, () => ({
        kind: field(c, () => g.pick(["get", "increment", "nope", ""])),
        args: maybe(g, () => value(g, urls)),
        priority: maybe(g, () => g.pick([0, 10, 11, -1, 1.5])),
        oneway: maybe(g, () => g.pick([true, false, 1])),
        noDelay: maybe(g, () => g.pick([true, false, "no"])),
        timeoutMs: maybe(g, () => g.pick([1, 50, 2000, 0, -1, 1e12])),
        sender: maybe(g, url),
      })),
    }),
    "POST /v1/agents/:id/deactivate": () => ({
      path: `/v1/agents/${id()}/deactivate`,
      body: { policy: policy(c) },
    }),
    "POST /v1/agents/:id/activate": () => ({ path: `/v1/agents/${id()}/activate`, body: value(g, urls) }),
    "POST /v1/agents/:id/dispatch": () => ({ path: `/v1/agents/${id()}/dispatch`, body: { target: url() } }),
    "POST /v1/agents/:id/clone": () => ({ path: `/v1/agents/${id()}/clone`, body: { target: url() } }),
    "POST /v1/agents/:id/retract": () => ({
      path: `/v1/agents/${id()}/retract`,
      body: { from: url(), target: url() },
    }),
    "DELETE /v1/agents/:id": () => ({ path: `/v1/agents/${id()}` }),
    "GET /v1/events": () => ({
      path: "/v1/events",
      query: {
        since: g.pick(["0", "-1", "x", "1e20"]),
        limit: g.pick(["1", "2001", "0"]),
        kind: g.pick(["", "create,x"]),
      },
    }),
    "GET /v1/events/stream": () => ({
      path: "/v1/events/stream",
      query: { since: g.pick(["0", "x", "-1"]) },
    }),
    "GET /v1/code": () => ({ path: "/v1/code" }),
    "GET /v1/code/:hash": () => ({ path: `/v1/code/${encodeURIComponent(hex64())}` }),
    "PUT /v1/code": () => ({
      path: "/v1/code",
      raw: new TextEncoder().encode(
        g.pick(["", "export const x = 1;", "export default {", "null", "\u0000"]),
      ),
    }),
    "GET /v1/mesh/hosts": () => ({
      path: "/v1/mesh/hosts",
      query: { online: g.pick(["true", "0", "maybe"]) },
    }),
    "POST /v1/mesh/gossip": () => ({
      path: "/v1/mesh/gossip",
      body: field(c, () => ({
        meshVersion: field(c, () => g.pick(["dev", "other", ""])),
        from: field(c, () => ({ name: g.pick(["peer", "", "a".repeat(100)]), url: g.pick(urls) })),
        digest: maybe(g, () => [[g.pick(["peer", ""]), g.pick(JUNK_NUMBERS), 0, 0]]),
        records: maybe(g, () => [value(g, urls)]),
      })),
    }),
    "GET /v1/services": () => ({ path: "/v1/services" }),
    "GET /v1/services/:name": () => ({ path: `/v1/services/${encodeURIComponent(serviceName())}` }),
    "POST /v1/services/:name/:op": () => {
      const name = serviceName();
      const op = g.pick([...(c.services[name] ?? []), "nope", ""]);
      return {
        path: `/v1/services/${encodeURIComponent(name)}/${encodeURIComponent(op)}`,
        body: value(g, urls),
      };
    },
    "GET /v1/artifacts": () => ({ path: "/v1/artifacts" }),
    "PUT /v1/artifacts": () => ({
      path: "/v1/artifacts",
      query: { name: g.pick(["a.txt", "", "../x"]), ttl: g.pick(["60", "-1", "x"]) },
      raw: new Uint8Array(g.int(2000)),
    }),
    "GET /v1/artifacts/:id": () => ({ path: `/v1/artifacts/${id()}` }),
    "GET /v1/artifacts/:id/info": () => ({ path: `/v1/artifacts/${id()}/info` }),
    "DELETE /v1/artifacts/:id": () => ({ path: `/v1/artifacts/${id()}` }),
    "POST /v1/transfers/preflight": () => ({
      path: "/v1/transfers/preflight",
      body: field(c, () => ({
        agentId: field(c, () => agentId(c)),
        type: field(c, () => "demo.counter"),
        meshVersion: field(c, () => "dev"),
        files: maybe(g, () => [{ name: g.pick(["f", "../f", ""]), size: g.pick(JUNK_NUMBERS) }]),
        code: maybe(g, hex64),
        codeFrom: maybe(g, url),
      })),
    }),
    "POST /v1/transfers": () => ({ path: "/v1/transfers", body: value(g, urls) }),
    "GET /v1/transfers/:id": () => ({ path: `/v1/transfers/${id()}` }),
    "POST /v1/transfers/:id/abandon": () => ({
      path: `/v1/transfers/${id()}/abandon`,
      body: {
        agentId: field(c, () => agentId(c)),
        source: url(),
        ageMs: maybe(g, () => g.pick(JUNK_NUMBERS)),
        agentCreatedAt: maybe(g, () => g.pick(JUNK_NUMBERS)),
      },
    }),
  };
}

/** Encodes a shape's body the way this case sends it, with the headers that go with it. */
function encodeBody(
  g: Gen,
  shape: Shape,
): { body?: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  if (shape.raw) return { body: shape.raw, headers: { "content-type": "application/octet-stream" } };
  if (shape.body === undefined) return { headers: {} };
  const text = JSON.stringify(shape.body) ?? "null";
  const roll = g.int(20);
  if (roll < 11) {
    return { body: new TextEncoder().encode(text), headers: { "content-type": "application/json" } };
  }
  if (roll < 14) {
    return { body: new Uint8Array(encodeCbor(shape.body)), headers: { "content-type": "application/cbor" } };
  }
  if (roll < 15) {
    return {
      body: new TextEncoder().encode(text.slice(0, g.int(text.length))),
      headers: { "content-type": "application/json" },
    };
  }
  if (roll < 16) {
    return {
      body: crypto.getRandomValues(new Uint8Array(g.int(512))),
      headers: { "content-type": "application/json" },
    };
  }
  if (roll < 17) return { body: new TextEncoder().encode(text), headers: { "content-type": "text/plain" } };
  if (roll < 18) {
    return {
      body: new TextEncoder().encode(text),
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
    };
  }
  if (roll < 19) {
    const depth = g.pick([150, 250, 5000]);
    return {
      body: new TextEncoder().encode("[".repeat(depth) + "]".repeat(depth)),
      headers: { "content-type": "application/json" },
    };
  }
  return { body: new Uint8Array(), headers: { "content-type": "application/json" } };
}

function authHeaders(g: Gen): Record<string, string> {
  const roll = g.int(20);
  if (roll === 0) return {};
  if (roll === 1) return { authorization: "Bearer wrong" };
  if (roll === 2) return { authorization: `Basic ${KEY}` };
  return { authorization: `Bearer ${KEY}`, ...(g.chance(0.1) ? { accept: "application/cbor" } : {}) };
}

function rssKiB(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? 0);
}

/** The routes the host's application registers (method + path), from an in-process host. */
async function registeredRoutes(): Promise<string[]> {
  await using th = await testHost();
  return [
    ...new Set(
      buildApp(th.host).routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`),
    ),
  ];
}

Deno.test(`a seeded fuzz of every route (seed ${SEED}) answers no internal error and no undocumented 5xx`, async (t) => {
  const routes = await registeredRoutes();
  try {
    const host = await startHost({ name: "fuzz", apiKey: KEY });
    const auth = { authorization: `Bearer ${KEY}` };
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${host.url}${path}`, {
        method,
        headers: { ...auth, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((r) => r.json());
    const agentIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      agentIds.push((await call("POST", "/v1/agents", { type: "demo.counter" })).id);
    }
    const services: Record<string, string[]> = {};
    for (
      const s of (await call("GET", "/v1/services")).services as { name: string; operations: string[] }[]
    ) {
      services[s.name] = s.operations;
    }
    const g = new Gen(prng(SEED));
    const ctx: Ctx = { g, urls: safeUrls(host.url), agentIds, services };
    const shapes = routeShapes(ctx);

    await t.step("the fuzz knows every route the host registers", () => {
      const unknown = routes.filter((r) => !(r in shapes));
      assert(unknown.length === 0, `routes without a fuzz shape: ${unknown.join(", ")}`);
    });

    const failures: string[] = [];
    const statuses = new Map<string, number>();
    const send = async (n: number, key: string): Promise<void> => {
      const [method] = key.split(" ");
      const shape = shapes[key]();
      const { body, headers } = encodeBody(g, shape);
      const query = shape.query ? `?${new URLSearchParams(shape.query)}` : "";
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), 15_000);
      try {
        const response = await fetch(`${host.url}${shape.path}${query}`, {
          method,
          headers: { ...headers, ...authHeaders(g) },
          body: method === "GET" || method === "HEAD" ? undefined : body,
          signal: ctl.signal,
        });
        const tally = `${response.status}`;
        statuses.set(tally, (statuses.get(tally) ?? 0) + 1);
        const streaming = (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
        const text = streaming ? (await response.body?.cancel(), "") : await response.text();
        if (response.status >= 400) {
          let code: string | undefined;
          try {
            code = (response.headers.get("content-type") ?? "").includes("json")
              ? JSON.parse(text).error?.code
              : "(cbor)";
          } catch { /* not JSON */ }
          if (!code) {
            failures.push(
              `#${n} ${key} ${shape.path}: ${response.status} without a coded error: ${text.slice(0, 100)}`,
            );
          } else if (response.status >= 500 && !DOCUMENTED_5XX.has(code)) {
            failures.push(`#${n} ${key} ${shape.path}: ${response.status} ${code}: ${text.slice(0, 200)}`);
          }
        }
        const created = /"id":"([A-Za-z0-9._-]+)"/.exec(text)?.[1];
        if (response.status === 201 && created && agentIds.length < 40) agentIds.push(created);
      } catch (err) {
        failures.push(`#${n} ${key} ${shape.path}: no answer (${(err as Error).message})`);
      } finally {
        clearTimeout(timer);
      }
    };

    const keys = Object.keys(shapes);
    // Warm up every route once, so the memory baseline includes what the routes load on first use.
    for (const key of keys) await send(-1, key);
    const baseline = rssKiB(host.process.pid);

    await t.step(`${CASES} shaped requests (seed ${SEED})`, async () => {
      for (let n = 0; n < CASES; n++) await send(n, g.pick(keys));
      console.log([...statuses].sort().map(([status, n]) => `${status}: ${n}`).join(", "));
      assert(failures.length === 0, `seed ${SEED}:\n${failures.slice(0, 20).join("\n")}`);
    });

    await t.step("bodies that end short on every route with a body answer 400 or close", async () => {
      for (const key of keys.filter((k) => /^(POST|PUT) /.test(k))) {
        const shape = shapes[key]();
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(host.url).port) });
        await conn.write(new TextEncoder().encode(
          `${
            key.split(" ")[0]
          } ${shape.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\n` +
            `Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{"kind":`,
        ));
        await conn.closeWrite();
        const { text: head } = await readUntilClosed(conn, 10_000);
        conn.close();
        const { status } = answerOf(head);
        assert(status === 0 || (status >= 400 && status < 500), `${key}: ${head.slice(0, 200)}`);
      }
    });

    await t.step("the host is alive and its memory is back near its baseline", async () => {
      const health = await fetch(`${host.url}/v1/health`);
      assert(health.status === 200, `health answered ${health.status}`);
      await health.body?.cancel();
      const after = rssKiB(host.process.pid);
      console.log(
        `seed ${SEED}: RSS ${Math.round(baseline / 1024)} MiB before, ${Math.round(after / 1024)} MiB after`,
      );
      assert(after <= baseline * 1.5 + 64 * 1024, `RSS grew from ${baseline} KiB to ${after} KiB`);
    });
  } finally {
    await stopAll();
  }
});

/**
 * A web page the operator opens cannot drive a host (host/http/browser_guard.ts): a request that
 * carries another site's Origin is refused before it does anything (a no-cors POST of a text body
 * would have created agents, and fetched and run a module from the page's server), and a host
 * without an API key answers only requests sent to an address of its own (DNS rebinding). The
 * host's own dashboard, the CLI and other hosts pass.
 */
import { assertEquals } from "../helpers/assert.ts";
import { startHost, stopAll } from "../helpers/host_process.ts";
import { answerOf, close, connect, readUntilClosed } from "../helpers/raw_http.ts";
import { paglets } from "../helpers/cli.ts";

/** Names /etc/hosts gives this machine (none where it has no such file). */
function etcHostsNames(): string[] {
  try {
    return Deno.readTextFileSync("/etc/hosts").split("\n").flatMap((line) =>
      line.replace(/#.*/, "").trim().split(/\s+/).slice(1)
    );
  } catch {
    return [];
  }
}

/** Sends one raw request with exactly these headers; its status and error code. */
async function raw(
  host: { url: string },
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
): Promise<{ status: number; code?: string }> {
  const conn = await connect(host);
  try {
    const head = [`${method} ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    head.push(`content-length: ${new TextEncoder().encode(body).length}`, "connection: close", "", body);
    await conn.write(new TextEncoder().encode(head.join("\r\n")));
    return answerOf((await readUntilClosed(conn, 10_000)).text);
  } finally {
    close(conn);
  }
}

Deno.test("a host refuses other sites' web pages and, without a key, names that are not its own", async () => {
  try {
    const host = await startHost({ name: "guarded", env: { PAGLETS_ALLOWED_HOSTS: "box.lan, other.lan" } });
    const own = new URL(host.url).host;
    const create = '{"type":"demo.counter"}';
    const countAgents = async () => (await host.client.listAgents()).agents.length;

    // A page of another site posting a text body (what needs no preflight): refused, nothing made.
    const page = { host: own, origin: "http://evil.example", "content-type": "text/plain" };
    assertEquals(await raw(host, "POST", "/v1/agents", page, create), { status: 403, code: "forbidden" });
    assertEquals(await raw(host, "GET", "/v1/agents", page), { status: 403, code: "forbidden" });
    assertEquals(await countAgents(), 0);
    // The host's own page, and a client that sends no Origin, pass.
    const dashboard = { host: own, origin: `http://${own}`, "content-type": "application/json" };
    assertEquals((await raw(host, "POST", "/v1/agents", dashboard, create)).status, 201);
    assertEquals((await raw(host, "POST", "/v1/agents", { host: own }, create)).status, 201);
    assertEquals(await countAgents(), 2);

    // A name pointed at this host by someone else: refused while the API is open. The health
    // probe stays open; localhost and the machine's own name pass.
    const port = new URL(host.url).port;
    const rebound = { host: `attacker.example:${port}` };
    assertEquals(await raw(host, "GET", "/v1/agents", rebound), { status: 403, code: "forbidden" });
    assertEquals(await raw(host, "POST", "/v1/agents", rebound, create), { status: 403, code: "forbidden" });
    assertEquals((await raw(host, "GET", "/v1/health", rebound)).status, 200);
    assertEquals((await raw(host, "GET", "/v1/agents", { host: `localhost:${port}` })).status, 200);
    assertEquals((await raw(host, "GET", "/v1/agents", { host: `${Deno.hostname()}:${port}` })).status, 200);
    // Names the machine's owner chose: its .local name, those /etc/hosts and PAGLETS_ALLOWED_HOSTS list.
    const owned = [`${Deno.hostname()}.local`, "box.lan", "other.lan", ...etcHostsNames().slice(0, 3)];
    for (const name of owned) {
      assertEquals((await raw(host, "GET", "/v1/agents", { host: `${name}:${port}` })).status, 200, name);
    }
    assertEquals(await countAgents(), 2);

    // The CLI passes.
    const ls = await paglets(["agents", "ls", "--json", "--entry", host.url]);
    assertEquals(ls.code, 0, ls.stderr);

    // With a key, the name does not matter (a page cannot authenticate); another site still may not.
    const keyed = await startHost({ name: "keyed", apiKey: "k3y" });
    const auth = { authorization: "Bearer k3y" };
    const keyedPort = new URL(keyed.url).port;
    assertEquals(
      (await raw(keyed, "GET", "/v1/agents", { ...auth, host: `any.name:${keyedPort}` })).status,
      200,
    );
    const foreign = await raw(keyed, "GET", "/v1/agents", {
      ...auth,
      host: `any.name:${keyedPort}`,
      origin: "http://evil.example",
    });
    assertEquals(foreign, { status: 403, code: "forbidden" });
  } finally {
    await stopAll();
  }
});

/**
 * How a transfer's body travels: to an `http:` target with its `content-length` over a connection
 * of its own (host/sized_upload.ts; Deno's `fetch` would send it chunked in 64 KiB pieces, which
 * the target's server takes slower and slower), through an HTTP proxy chunked by `fetch`; and a
 * target that answers before the body is all sent (a refusal, an acknowledgement it already gave)
 * is heard at once, the rest of the body unsent.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type HostProcess, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { encodeCbor } from "../../agents/cbor.ts";
import { concat } from "../../agents/bytes.ts";
import { sizedUpload } from "../../host/sized_upload.ts";
import {
  byteStringHeader,
  encodeTransferHead,
  type TransferEnvelope,
} from "../../host/transfers/envelope.ts";
import { agentIds, startMobileHost } from "./helpers.ts";

const KEY = "secret-test-key";
const MIB = 1 << 20;

interface Seen {
  method: string;
  url: string;
  contentLength: string | null;
  transferEncoding: string | null;
}

/**
 * An HTTP proxy in this process that notes each request it passes on: one addressed to the proxy
 * itself (`http://<proxy>/v1/...`) goes to `upstream()`, one in proxy form (a host's `HTTP_PROXY`)
 * to the URL it names.
 */
function recordingProxy(upstream: () => string, tls?: { cert: string; key: string }) {
  const seen: Seen[] = [];
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    ...tls,
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    const to: URL = url.port === String(server.addr.port)
      ? new URL(url.pathname + url.search, upstream())
      : url;
    seen.push({
      method: req.method,
      url: to.href,
      contentLength: req.headers.get("content-length"),
      transferEncoding: req.headers.get("transfer-encoding"),
    });
    const headers = new Headers(req.headers);
    for (const name of ["host", "connection", "content-length", "transfer-encoding"]) headers.delete(name);
    const res = await fetch(to, { method: req.method, headers, body: req.body });
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
  const scheme = tls ? "https" : "http";
  return { url: `${scheme}://127.0.0.1:${server.addr.port}`, seen, stop: () => server.shutdown() };
}

/**
 * A certificate authority and a certificate it signed for 127.0.0.1 and localhost (openssl), in
 * `dir`: `ca` is the authority's file (for `DENO_CERT`), `cert` and `key` the server's PEM text.
 */
async function testCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const openssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
      .output();
    assert(out.success, `openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  };
  const days = ["-days", "2"];
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    ...days,
    "-subj",
    "/CN=paglets-test-ca",
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "key.pem",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=localhost",
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    ...days,
    "-extfile",
    "ext.cnf",
  );
  return {
    ca: `${dir}/ca.pem`,
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

const noOpenssl =
  (await new Deno.Command("sh", { args: ["-c", "command -v openssl"], stdout: "null" }).output())
      .success
    ? null
    : "openssl is not installed";

/** A traveller with a registered file of `size` bytes on `host`: its id and the file's SHA-256. */
async function travellerWithFile(host: HostProcess, size: number): Promise<{ id: string; sha256: string }> {
  const { id } = await host.client.createAgent({ type: "test.traveller" });
  const { sha256 } = await host.client.send(id, { kind: "writeFile", args: { name: "data.bin", size } }) as {
    sha256: string;
  };
  return { id, sha256 };
}

async function arrivedWith(host: HostProcess, id: string): Promise<Record<string, string | null>> {
  const state = await eventually(`arrival on ${host.name}`, async () => {
    const s = await host.client.send(id, { kind: "get" }) as {
      events: string[];
      filesAtArrival: Record<string, string | null>;
    };
    return s.events.includes(`run:${host.name}`) ? s : null;
  });
  return state.filesAtArrival;
}

Deno.test("a transfer goes to an http: target with its length, through an HTTP proxy chunked; both arrive whole, with the API key", async () => {
  let beta: HostProcess | undefined;
  const proxy = recordingProxy(() => beta!.url);
  try {
    const [alpha, gamma] = await Promise.all([
      startMobileHost("alpha", { apiKey: KEY }),
      startMobileHost("gamma", { apiKey: KEY, env: { HTTP_PROXY: proxy.url } }),
    ]);
    beta = await startMobileHost("beta", { apiKey: KEY });
    const fileBytes = 8 * MIB;

    // Alpha, without a proxy, is sent to the proxy as its target: what reaches it is alpha's own.
    const direct = await travellerWithFile(alpha, fileBytes);
    assertEquals((await alpha.client.dispatch(direct.id, proxy.url)).host, beta.url);
    assertEquals(await arrivedWith(beta, direct.id), { "data.bin": direct.sha256 });
    const sent = proxy.seen.filter((r) => r.method === "POST" && r.url.endsWith("/v1/transfers"));
    assertEquals(sent.length, 1, JSON.stringify(proxy.seen));
    assertEquals(sent[0].transferEncoding, null);
    assert(Number(sent[0].contentLength) > fileBytes, `content-length ${sent[0].contentLength}`);

    // Gamma reaches beta through its HTTP_PROXY: fetch sends the body, chunked.
    proxy.seen.length = 0;
    const proxied = await travellerWithFile(gamma, fileBytes);
    assertEquals((await gamma.client.dispatch(proxied.id, beta.url)).host, beta.url);
    assertEquals(await arrivedWith(beta, proxied.id), { "data.bin": proxied.sha256 });
    const relayed = proxy.seen.filter((r) => r.method === "POST" && r.url === `${beta!.url}/v1/transfers`);
    assertEquals(relayed.length, 1, JSON.stringify(proxy.seen));
    assertEquals([relayed[0].transferEncoding, relayed[0].contentLength], ["chunked", null]);

    assertEquals(await agentIds(alpha), []);
    assertEquals(await agentIds(gamma), []);
    assertEquals((await agentIds(beta)).sort(), [direct.id, proxied.id].sort());
  } finally {
    await proxy.stop();
    await stopAll();
  }
});

Deno.test({
  name: "a transfer goes to an https: target with its length too, over TLS, and arrives whole",
  ignore: noOpenssl !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "paglets-tls-" });
    let beta: HostProcess | undefined;
    const { ca, cert, key } = await testCertificates(dir);
    // A TLS front of beta (as a reverse proxy would be), trusted by alpha through DENO_CERT.
    const front = recordingProxy(() => beta!.url, { cert, key });
    try {
      const alpha = await startMobileHost("alpha", { apiKey: KEY, env: { DENO_CERT: ca } });
      beta = await startMobileHost("beta", { apiKey: KEY });
      const fileBytes = 8 * MIB;
      const moved = await travellerWithFile(alpha, fileBytes);
      assertEquals((await alpha.client.dispatch(moved.id, front.url)).host, beta.url);
      assertEquals(await arrivedWith(beta, moved.id), { "data.bin": moved.sha256 });
      const sent = front.seen.filter((r) => r.method === "POST" && r.url.endsWith("/v1/transfers"));
      assertEquals(sent.length, 1, JSON.stringify(front.seen));
      assertEquals(sent[0].transferEncoding, null);
      assert(Number(sent[0].contentLength) > fileBytes, `content-length ${sent[0].contentLength}`);
    } finally {
      await front.stop();
      await stopAll();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A transfer envelope for `test.traveller` (or `type`) listing one file of `size` bytes. */
function envelope(size: number, sha256: string, type = "test.traveller"): TransferEnvelope {
  const suffix = crypto.randomUUID().replaceAll("-", "");
  return {
    transferId: `tr_test${suffix.slice(0, 20)}`,
    kind: "dispatch",
    agent: {
      id: `ag_test${suffix.slice(20, 32)}`,
      type,
      state: encodeCbor({ events: [], count: 1, filesAtArrival: {} }),
      createdAt: Date.now(),
      meta: {},
    },
    source: { name: "tester", url: "http://127.0.0.1:9" },
    meshVersion: "dev",
    arrivalMode: "inactive",
    files: [{ name: "data.bin", mode: "copy", size, sha256 }],
    sentAt: Date.now(),
  };
}

/**
 * A transfer body of `env` whose file is `size` zero bytes, made as it is read; `pulled()` tells
 * how many bytes were read of it.
 */
function lazyBody(env: TransferEnvelope, size: number) {
  const head = concat([encodeTransferHead(env), byteStringHeader(size)]);
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === 0) {
        pulled = head.length;
        controller.enqueue(head);
        return;
      }
      const n = Math.min(MIB, head.length + size - pulled);
      if (n === 0) return controller.close();
      pulled += n;
      controller.enqueue(new Uint8Array(n));
    },
  });
  return { body, length: head.length + size, pulled: () => pulled };
}

Deno.test("a target that answers before a transfer's body is all sent is heard at once, the rest of the body unsent", async () => {
  try {
    const beta = await startMobileHost("beta", { apiKey: KEY });
    const url = `${beta.url}/v1/transfers`;
    const big = 1024 * MIB;
    const post = (body: ReturnType<typeof lazyBody>, key: string | null) =>
      sizedUpload(url, {
        method: "POST",
        headers: { "content-type": "application/cbor", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: body.body,
        length: body.length,
        signal: AbortSignal.timeout(120_000),
      });
    const zeros = "0".repeat(64);

    // Refused by the API key check, which never reads the body.
    const unkeyed = lazyBody(envelope(big, zeros), big);
    const refused = await post(unkeyed, null);
    assertEquals([refused.status, (await refused.json()).error.code], [401, "unauthorized"]);
    assert(unkeyed.pulled() < big / 2, `${unkeyed.pulled()} bytes read of ${unkeyed.length}`);

    // Refused by the receiver once it has read the envelope, before the file.
    const unknown = lazyBody(envelope(big, zeros, "test.nobody"), big);
    const refusedType = await post(unknown, KEY);
    assertEquals([refusedType.status, (await refusedType.json()).error.code], [422, "unknown_agent_type"]);
    assert(unknown.pulled() < big / 2, `${unknown.pulled()} bytes read of ${unknown.length}`);

    // Stored, with its whole body sent; a second copy of the same transfer gets the same
    // acknowledgement once its envelope is read.
    const small = 3 * MIB;
    const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(small));
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const first = envelope(small, sha256);
    const whole = lazyBody(first, small);
    const stored = await post(whole, KEY);
    assertEquals(stored.status, 200);
    const ack = await stored.json();
    assertEquals([ack.transferId, ack.status], [first.transferId, "stored"]);
    assertEquals(whole.pulled(), whole.length);
    const again = lazyBody({ ...first, files: [{ ...first.files[0], size: big }] }, big);
    const acked = await post(again, KEY);
    const second = await acked.json();
    // `arrived` by now: the inactive arrival was put in place right after the first ack.
    assertEquals([acked.status, second.transferId, second.id], [200, ack.transferId, ack.id]);
    assert(again.pulled() < big / 2, `${again.pulled()} bytes read of ${again.length}`);
    assertEquals(await agentIds(beta), [first.agent.id]);
  } finally {
    await stopAll();
  }
});

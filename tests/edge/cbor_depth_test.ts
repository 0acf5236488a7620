/**
 * How deep a body may nest, against real host processes: a CBOR body nested past the JSON limit
 * (200 levels) is refused `400 malformed_cbor` before it is decoded, 100,000 levels included (the
 * decoder alone would overflow its stack); and what a JSON body may carry still travels between
 * hosts as CBOR: an agent's state at the JSON limit moves, and a message at the limit is forwarded.
 */
import { encodeCbor } from "../../agents/cbor.ts";
import { CBOR_TYPE } from "../../agents/wire.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import type { HostProcess } from "../helpers/host_process.ts";
import { startMobileHost } from "../mobility/helpers.ts";
import { jsonDepth } from "../helpers/json_depth.ts";

const LIMIT = 200;

/** A value's CBOR, as a request body. */
function cbor(value: unknown): Uint8Array<ArrayBuffer> {
  return encodeCbor(value) as Uint8Array<ArrayBuffer>;
}

/** `levels` maps `{d: …}` around `inner`. */
function nestedMaps(levels: number, inner: unknown): unknown {
  let value = inner;
  for (let i = 0; i < levels; i++) value = { d: value };
  return value;
}

/** POSTs a message body to agent `id` on `host`; the status and the body as JSON. */
async function post(
  host: HostProcess,
  id: string,
  body: Uint8Array<ArrayBuffer> | string,
): Promise<{ status: number; body: Record<string, { code: string; message: string }> }> {
  const response = await fetch(`${host.url}/v1/agents/${id}/messages`, {
    method: "POST",
    headers: { "content-type": typeof body === "string" ? "application/json" : CBOR_TYPE },
    body,
  });
  return { status: response.status, body: await response.json() };
}

/** The answer to a CBOR body nested past the limit. */
function assertTooDeep(answer: Awaited<ReturnType<typeof post>>): void {
  assertEquals(answer.status, 400);
  assertEquals(answer.body.error.code, "malformed_cbor");
  assert(/nested deeper than 200 levels/.test(answer.body.error.message), answer.body.error.message);
}

const BIG = 1234567890123456789012345678901234567890n;
/** Six levels of tagged JSON: a map, its pair list, a pair, a set, its list, a bigint. */
const TAGGED_JSON = `{"$map":[["k",{"$set":[{"$bigint":"${BIG}"}]}]]}`;
const TAGGED = new Map([["k", new Set([BIG])]]);

/** A JSON `set` message whose field `key` nests the tagged value under `levels` maps. */
function setMessage(key: string, levels: number): string {
  return `{"kind":"set","args":{"${key}":${'{"d":'.repeat(levels)}${TAGGED_JSON}${"}".repeat(levels)}}}`;
}

Deno.test("a CBOR body nested past 200 levels is refused 400 malformed_cbor; what JSON carries at its limit still travels as CBOR", async (t) => {
  try {
    const [alpha, beta] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const { id } = await alpha.client.createAgent({ type: "test.traveller" });

    await t.step("200 levels of CBOR are read, 201 are refused before they are decoded", async () => {
      // The body is a level, its args another, and the maps the rest.
      const atLimit = cbor({ kind: "set", args: { depth: nestedMaps(LIMIT - 2, 1) } });
      assertEquals((await post(alpha, id, atLimit)).status, 200);
      const deeper = await post(
        alpha,
        id,
        cbor({ kind: "set", args: { depth: nestedMaps(LIMIT - 1, 1) } }),
      );
      assertTooDeep(deeper);
    });

    await t.step(
      "100,000 levels of arrays, maps or tags are refused by depth, not by a stack overflow",
      async () => {
        for (const head of [[0x81], [0xa1, 0x61, 0x64], [0xd8, 0x28]]) {
          const levels = 100_000;
          const body = new Uint8Array(levels * head.length + 1);
          for (let i = 0; i < levels; i++) body.set(head, i * head.length);
          body[body.length - 1] = 0x01;
          const answer = await post(alpha, id, body);
          assertTooDeep(answer);
        }
      },
    );

    await t.step(
      "a state set by a JSON body at the limit moves, and a message at the limit is forwarded as CBOR",
      async () => {
        const atLimit = setMessage("moved", LIMIT - 8);
        assertEquals(jsonDepth(atLimit), LIMIT);
        // One level more is over the JSON limit: the bodies below are at it exactly.
        const over = await post(alpha, id, setMessage("moved", LIMIT - 7));
        assertEquals([over.status, over.body.error.code], [400, "malformed_json"]);
        assertEquals((await post(alpha, id, atLimit)).status, 200);

        assertEquals(await alpha.client.dispatch(id, beta.url), { id, host: beta.url });
        assertEquals(await alpha.client.getAgent(id), { id, movedTo: beta.url });

        // Alpha relays these to beta as CBOR: with tags (fewer levels in CBOR), and plain maps (as many).
        const forwarded = await post(alpha, id, setMessage("forwarded", LIMIT - 8));
        assertEquals(forwarded.status, 200, JSON.stringify(forwarded.body));
        const plain = JSON.stringify({ kind: "set", args: { plain: nestedMaps(LIMIT - 2, 1) } });
        assertEquals(jsonDepth(plain), LIMIT);
        assertEquals((await post(alpha, id, plain)).status, 200);

        const expected = nestedMaps(LIMIT - 8, TAGGED);
        const state = await beta.client.send(id, { kind: "get" }) as Record<string, unknown>;
        assertEquals(state.moved, expected);
        assertEquals(state.forwarded, expected);
        assertEquals(state.plain, nestedMaps(LIMIT - 2, 1));
        // The reply comes back through alpha too, as CBOR from beta.
        const relayed = await alpha.client.send(id, { kind: "get" }) as Record<string, unknown>;
        assertEquals(relayed.forwarded, expected);
      },
    );

    await t.step(
      "a break byte (0xff) where no indefinite-length item ends is refused, however short the body",
      async () => {
        for (const body of [[0xff], [0x82, 0x01, 0xff], [0xa1, 0x61, 0x6b, 0xff]]) {
          const answer = await post(alpha, id, new Uint8Array(body));
          assertEquals(
            [answer.status, answer.body.error.code],
            [400, "malformed_cbor"],
            JSON.stringify(body),
          );
        }
      },
    );

    await t.step(
      "what CBOR's tags make and plain data is not (an error, a typed array, NaN, an unknown tag) is refused",
      async () => {
        // {kind: "set", args: {x: …}}: the map's head, then the value of x.
        const head = [
          0xa2,
          0x64,
          ...new TextEncoder().encode("kind"),
          0x63,
          ...new TextEncoder().encode("set"),
          0x64,
          ...new TextEncoder().encode("args"),
          0xa1,
          0x61,
          0x78,
        ];
        const values = [
          [0xd8, 0x1b, 0x82, 0x63, 0x46, 0x6f, 0x6f, 0x01], // tag 27: an object of a class (an Error)
          [0xd8, 0x48, 0x41, 0x01], // tag 72: an Int8Array
          [0xf9, 0x7e, 0x00], // NaN
          [0xd9, 0x27, 0x0f, 0x01], // tag 9999, which decodes to a Tag object
        ];
        for (const value of values) {
          const answer = await post(alpha, id, new Uint8Array([...head, ...value]));
          assertEquals(
            [answer.status, answer.body.error.code],
            [422, "invalid_request"],
            JSON.stringify(value),
          );
          assert(answer.body.error.message.includes("$.args.x"), answer.body.error.message);
        }
        // Bytes (a byte string) are plain data.
        assertEquals((await post(alpha, id, new Uint8Array([...head, 0x42, 0x01, 0x02]))).status, 200);
      },
    );

    await t.step("a CBOR body past the limit is refused on the host the agent moved to as well", async () => {
      const deeper = await post(
        beta,
        id,
        cbor({ kind: "set", args: { depth: nestedMaps(LIMIT - 1, 1) } }),
      );
      assertEquals([deeper.status, deeper.body.error.code], [400, "malformed_cbor"]);
      assertEquals((await fetch(`${beta.url}/v1/health`).then((r) => r.json())).ok, true);
    });
  } finally {
    await stopAll();
  }
});

/** Host-to-host transfer routes reject bad input with a 4xx and write nothing. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import { encodeCbor } from "../../agents/cbor.ts";
import { concat } from "../../agents/bytes.ts";
import {
  agentIds,
  entries,
  sha256Of as sha256,
  startMobileHost,
  testEnvelope as envelope,
  transferBytes as body,
} from "./helpers.ts";

const KEY = "secret-test-key";

Deno.test("bad transfers get a 4xx and leave nothing behind; a retry of a stored transfer answers the same ack", async () => {
  try {
    const b = await startMobileHost("beta", { apiKey: KEY });
    const post = async (bytes: Uint8Array, headers: Record<string, string> = {}) => {
      const res = await fetch(`${b.url}/v1/transfers`, {
        method: "POST",
        body: bytes as Uint8Array<ArrayBuffer>,
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/cbor", ...headers },
      });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) };
    };
    const expectRejected = async (
      what: string,
      bytes: Uint8Array,
      status: number,
      code: string,
      headers?: Record<string, string>,
    ) => {
      const res = await post(bytes, headers);
      assertEquals(
        [res.status, res.body.error?.code],
        [status, code],
        `${what}: ${JSON.stringify(res.body)}`,
      );
    };

    const content = new TextEncoder().encode("file content\n".repeat(1000));
    const good = envelope({
      files: [{ name: "data.bin", mode: "copy", size: content.length, sha256: await sha256(content) }],
    });
    const goodBody = body(good, [content]);

    await expectRejected("truncated envelope", goodBody.subarray(0, 40), 400, "malformed_cbor");
    await expectRejected(
      "truncated file",
      goodBody.subarray(0, goodBody.length - 100),
      400,
      "malformed_cbor",
    );
    await expectRejected(
      "trailing bytes",
      concat([goodBody, new Uint8Array([1, 2, 3])]),
      400,
      "malformed_cbor",
    );
    await expectRejected("not the transfer array", encodeCbor(good), 400, "malformed_cbor");
    await expectRejected(
      "garbage",
      new Uint8Array([0x82, 0xd8, 0x18, 0x43, 0xff, 0xff, 0xff, 0x40]),
      400,
      "malformed_cbor",
    );
    const wrongSum = envelope({
      files: [{ name: "data.bin", mode: "copy", size: content.length, sha256: "0".repeat(64) }],
    });
    await expectRejected("wrong checksum", body(wrongSum, [content]), 422, "checksum_mismatch");
    await expectRejected(
      "unknown type",
      body(envelope({}, { type: "no.such.type" })),
      422,
      "unknown_agent_type",
    );
    await expectRejected(
      "other mesh version",
      body(envelope({ meshVersion: "v999" })),
      409,
      "mesh_version_mismatch",
    );
    for (const name of ["../escape.bin", "a/../../escape.bin", "/etc/passwd", "..", "a\\b"]) {
      const bad = envelope({
        files: [{ name, mode: "copy", size: 1, sha256: await sha256(new Uint8Array(1)) }],
      });
      await expectRejected(`file name ${name}`, body(bad, [new Uint8Array(1)]), 422, "invalid_request");
    }
    await expectRejected("size mismatch", body(good, [content.subarray(1)]), 422, "invalid_request");
    await expectRejected("wrong API key", goodBody, 401, "unauthorized", { authorization: "Bearer wrong" });
    await expectRejected("JSON instead of CBOR", goodBody, 415, "unsupported_media_type", {
      "content-type": "application/json",
    });

    const preflight = await fetch(`${b.url}/v1/transfers/preflight`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        agentId: "ag_x",
        type: "no.such.type",
        kind: "dispatch",
        meshVersion: "dev",
        files: [],
      }),
    });
    assertEquals([preflight.status, (await preflight.json()).error.code], [422, "unknown_agent_type"]);

    assertEquals(await agentIds(b), []);
    assertEquals(await entries(`${b.dataDir}/transfers`), []);
    const missing = await fetch(`${b.url}/v1/transfers/${wrongSum.transferId}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    assertEquals([missing.status, (await missing.json()).error.code], [404, "transfer_not_found"]);

    // The good one, twice: one agent, the same acknowledgement.
    const first = await post(goodBody);
    const second = await post(goodBody);
    assertEquals(first.status, 200);
    assertEquals(second.status, 200);
    assertEquals([second.body.transferId, second.body.id, second.body.host], [
      first.body.transferId,
      first.body.id,
      first.body.host,
    ]);
    assertEquals(await agentIds(b), [good.agent.id]);
    const state = await b.client.send(good.agent.id, { kind: "get" }) as {
      big: bigint;
      filesAtArrival: Record<string, string>;
    };
    assertEquals(state.big, 12345678901234567890n);
    assertEquals(state.filesAtArrival, { "data.bin": await sha256(content) });
    // Same agent id under another transfer id: a conflict, not a second agent.
    const again = envelope({ files: [] }, { id: good.agent.id });
    await expectRejected("duplicate agent id", body(again), 409, "state_conflict");
    assert((await agentIds(b)).length === 1);
  } finally {
    await stopAll();
  }
});

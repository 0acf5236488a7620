/**
 * Typed operations: declared once with request and reply schemas, routed in a paglet, called
 * through a client; input is validated at every boundary.
 */
import { z } from "zod";
import { callOperation, operation } from "../../agents/operations.ts";
import { PagletError } from "../../agents/errors.ts";
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { Add, Describe } from "../fixtures/kernel_paglets.ts";
import { call, type ErrorBody, fixtureHost } from "./helpers.ts";

Deno.test("typed operations are routed, validated and called", async (t) => {
  await using h = await fixtureHost();
  const url = h.host.url;
  const client = h.client;
  const { id } = await client.createAgent({ type: "kernel.calculator" });
  const viaHttp = (m: { kind: string; args?: Record<string, unknown> }) => client.send(id, m);

  await t.step("an operation called through a client gets its typed reply", async () => {
    const { sum } = await callOperation(viaHttp, Add, { a: 2, b: 40 });
    assertEquals(sum, 42);
  });

  await t.step("an invalid request answers 422 invalid_request naming the field", async () => {
    const answer = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/messages`, {
      kind: "kernel.add",
      args: { a: 1, b: "two" },
    });
    assertEquals([answer.status, answer.body.error.code], [422, "invalid_request"]);
    assert(answer.body.error.message.includes("request of kernel.add"), answer.body.error.message);
    assert(answer.body.error.message.includes("b:"), answer.body.error.message);
  });

  await t.step("the client refuses an invalid request before sending it", async () => {
    let sent = false;
    const send = (m: { kind: string }) => {
      sent = true;
      return viaHttp(m);
    };
    await assertRejectsCode(
      () => callOperation(send, Add, { a: 1 } as { a: number; b: number }),
      "invalid_request",
    );
    assertEquals(sent, false);
  });

  await t.step("a handler's reply is validated before it leaves the paglet", async () => {
    assertEquals(await callOperation(viaHttp, Describe, {}), { name: "calc", size: 3 });
    const err = await assertRejectsCode(
      () => callOperation(viaHttp, Describe, { broken: true }),
      "invalid_request",
    );
    assert(err.message.includes("reply of kernel.describe"), err.message);
  });

  await t.step("callOperation validates the reply it receives", async () => {
    const sloppy = await client.createAgent({ type: "kernel.sloppy" });
    const err = await assertRejectsCode(
      () => callOperation((m) => client.send(sloppy.id, m), Add, { a: 1, b: 2 }),
      "invalid_request",
    );
    assert(err.message.includes("reply of kernel.add"), err.message);
  });

  await t.step("a paglet calls another paglet's operation through its context", async () => {
    const caller = await client.createAgent({ type: "kernel.calculator" });
    assertEquals(
      await client.send(caller.id, { kind: "call-add", args: { target: id, request: { a: 5, b: 6 } } }),
      {
        sum: 11,
      },
    );
  });

  await t.step("an operation the paglet does not route answers 422 not_handled", async () => {
    const answer = await call<ErrorBody>(url, "POST", `/v1/agents/${id}/messages`, {
      kind: "kernel.divide",
      args: {},
    });
    assertEquals([answer.status, answer.body.error.code], [422, "not_handled"]);
  });
});

Deno.test("an operation name must be a dotted word", () => {
  for (const name of ["", "has space", "1starts-with-digit", "semi;colon"]) {
    let error: unknown;
    try {
      operation(name, z.object({}), z.object({}));
    } catch (err) {
      error = err;
    }
    assert(error instanceof RangeError, `'${name}' should be refused`);
  }
  assertEquals(operation("pi.start", z.object({}), z.object({})).name, "pi.start");
  assert(!(new RangeError("x") instanceof PagletError));
});

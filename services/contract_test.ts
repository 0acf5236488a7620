import { z } from "zod";
import { operation } from "../agents/operations.ts";
import { assert, assertEquals } from "../tests/helpers/assert.ts";
import { serviceContract } from "./contract.ts";

const Ping = operation("ping", z.object({}), z.object({ ok: z.boolean() }));

function throwsRange(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert(err instanceof RangeError, `expected a RangeError, got ${err}`);
    assert(pattern.test(err.message), `message '${err.message}' does not match ${pattern}`);
    return;
  }
  throw new Error("expected a RangeError");
}

Deno.test("a contract gets defaults: version 1, mesh scope, lazy, 30 s idle", () => {
  const c = serviceContract({ name: "probe", operations: { ping: Ping } });
  assertEquals([c.version, c.scope, c.lifecycle, c.idleTimeoutMs], ["1", "mesh", "lazy", 30_000]);
  assert(Object.isFrozen(c) && Object.isFrozen(c.operations));
});

Deno.test("invalid contracts are rejected with the value named", () => {
  throwsRange(() => serviceContract({ name: "Bad Name", operations: { ping: Ping } }), /'Bad Name'/);
  throwsRange(() => serviceContract({ name: "probe", operations: {} }), /at least one operation/);
  throwsRange(
    () => serviceContract({ name: "probe", operations: { pong: Ping } }),
    /'ping' under the key 'pong'/,
  );
  throwsRange(() => serviceContract({ name: "probe", version: " ", operations: { ping: Ping } }), /version/);
  throwsRange(
    () => serviceContract({ name: "probe", idleTimeoutMs: 0, operations: { ping: Ping } }),
    /idleTimeoutMs/,
  );
  throwsRange(
    () => serviceContract({ name: "probe", scope: "world" as "mesh", operations: { ping: Ping } }),
    /'world'/,
  );
});

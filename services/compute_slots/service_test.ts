import assert from "node:assert/strict";
import { assertEquals } from "../../tests/helpers/assert.ts";
import { computeSlotsOptionsFromEnv } from "./service.ts";

/** An environment of `vars`. */
function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

Deno.test("an option set over the environment's wins; one set to undefined leaves the environment's", () => {
  const env = envOf({ PAGLETS_COMPUTE_GOSSIP_MS: "300", PAGLETS_COMPUTE_SAMPLE_MS: "700" });
  assertEquals(
    computeSlotsOptionsFromEnv({ gossipIntervalMs: undefined, sampleIntervalMs: 50, fanOut: 2 }, env),
    { gossipIntervalMs: 300, sampleIntervalMs: 50, fanOut: 2 },
  );
  assertEquals(computeSlotsOptionsFromEnv({ fanOut: undefined }, envOf({})), {}, "nothing set");
});

Deno.test("a malformed value in the environment is refused with its name", () => {
  assert.throws(() => computeSlotsOptionsFromEnv({}, envOf({ PAGLETS_COMPUTE_FANOUT: "0" })), {
    code: "invalid_request",
    message: "PAGLETS_COMPUTE_FANOUT must be a number >= 1: current value is '0'",
  });
});

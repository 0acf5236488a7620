/** Deactivation policies: what a paglet or a request may ask for, and what a stop keeps of one. */
import { assert, assertEquals } from "../tests/helpers/assert.ts";
import { deactivationPolicy, untilStartup } from "./policy.ts";

Deno.test("a policy takes afterSeconds for activateAt, and refuses fields it does not have", () => {
  const before = Date.now();
  const policy = deactivationPolicy({ afterSeconds: 60, activateOnMessage: false });
  assertEquals(policy.activateAt! >= before + 60_000 && policy.activateAt! <= Date.now() + 60_000, true);
  assertEquals(policy.activateOnMessage, false);
  const failure = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return err as Error;
    }
    return null;
  };
  assert(
    /has no field 'afterSecs'/.test(
      failure(() => deactivationPolicy({ afterSecs: 5 } as never))?.message ?? "",
    ),
  );
  assert(
    /both activateAt/.test(
      failure(() => deactivationPolicy({ afterSeconds: 5, activateAt: 1 }))?.message ?? "",
    ),
  );
});

Deno.test("the policy until the next start keeps a stored policy's fields only", () => {
  // A policy an early version stored may hold more than the four fields.
  const stored = { activateAt: 5, activateOnMessage: false, queueMessagesWhenInactive: false, extra: 1 };
  const policy = untilStartup(stored as never);
  assertEquals(policy, {
    activateAt: null,
    activateOnMessage: false,
    queueMessagesWhenInactive: false,
    activateOnStartup: true,
  });
  assertEquals(deactivationPolicy(policy), policy);
});

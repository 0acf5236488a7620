import { assertEquals } from "../../tests/helpers/assert.ts";
import { CLOCK_MARGIN_MS, type UnknownTransferFacts, unknownTransferVerdict } from "./forgotten_transfers.ts";

const now = 1_000_000_000_000;
const DAY = 86_400_000;
const facts = (f: Partial<UnknownTransferFacts>): UnknownTransferFacts => ({
  now,
  ageMs: 5000,
  living: null,
  agentCreatedAt: undefined,
  forgottenThrough: null,
  ...f,
});

Deno.test("a transfer never known on a host that forgot nothing, or only arrivals older than its departure, never came", () => {
  assertEquals(unknownTransferVerdict(facts({})), "never");
  assertEquals(unknownTransferVerdict(facts({ forgottenThrough: now - 7 * DAY })), "never");
  assertEquals(unknownTransferVerdict(facts({ ageMs: undefined })), "never");
});

Deno.test("a transfer whose departure is not clearly newer than what its target forgot may have been forgotten", () => {
  assertEquals(
    unknownTransferVerdict(facts({ ageMs: 8 * DAY, forgottenThrough: now - 7 * DAY })),
    "forgotten",
  );
  // Within the margin of the clocks and the question's way: the doubt goes to `forgotten`.
  const through = now - 5000 - CLOCK_MARGIN_MS / 2;
  assertEquals(unknownTransferVerdict(facts({ forgottenThrough: through })), "forgotten");
  // A source that does not say its departure's age, to a host that forgot some arrivals.
  assertEquals(
    unknownTransferVerdict(facts({ ageMs: undefined, forgottenThrough: now - 7 * DAY })),
    "forgotten",
  );
});

Deno.test("an agent that lives here came by the transfer; a forwarding record or a departure of its own proves nothing", () => {
  assertEquals(unknownTransferVerdict(facts({ living: now - 9 * DAY, forgottenThrough: now - DAY })), "here");
  assertEquals(unknownTransferVerdict(facts({ living: now - 9 * DAY, ageMs: undefined })), "here");
  assertEquals(unknownTransferVerdict(facts({ ageMs: 8 * DAY, forgottenThrough: now - DAY })), "forgotten");
});

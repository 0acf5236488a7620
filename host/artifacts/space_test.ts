/** What an upload reserves holds room against the others until it is stored or given up. */
import { assertEquals } from "../../tests/helpers/assert.ts";
import type { PagletError } from "../../agents/errors.ts";
import { ArtifactSpace } from "./space.ts";

/** The error `reserve` throws, which must have `code`. */
function refusal(reserve: () => void, code: string): PagletError {
  try {
    reserve();
  } catch (err) {
    assertEquals((err as PagletError).code, code, (err as Error).message);
    return err as PagletError;
  }
  throw new Error(`expected a refusal with code ${code}`);
}

Deno.test("a reservation keeps the room of an upload from the others until it is stored or released", () => {
  const space = new ArtifactSpace({ maxSize: 800, quota: 1000 });
  space.reserve("a", 600, "An upload");
  const refused = refusal(() => space.reserve("b", 600, "An upload"), "quota_exceeded");
  assertEquals(
    refused.message,
    "An upload of 600 bytes does not fit in the artifact storage quota of 1000 bytes: " +
      "0 used by stored artifacts, 600 reserved by uploads in progress",
  );
  assertEquals(space.holds("b"), false);
  // An upload's own reservation is replaced, not added to (one of no declared size grows).
  space.reserve("a", 700, "An upload");
  assertEquals(space.reservedBytes, 700);
  refusal(() => space.reserve("c", 900, "An upload"), "payload_too_large");

  space.release("a");
  space.reserve("b", 600, "An upload");
  space.commit("b", 600);
  assertEquals([space.usedBytes, space.reservedBytes], [600, 0]);
  refusal(() => space.reserve("c", 401, "An upload"), "quota_exceeded");
  space.freed(600);
  space.reserve("c", 401, "An upload");
});

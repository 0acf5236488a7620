/** Assertions for tests (node:assert under the names Deno users expect). */
import assert from "node:assert/strict";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

export function assert_(condition: unknown, message?: string): asserts condition {
  assert.ok(condition, message);
}
export { assert_ as assert };

/** Asserts that `fn` rejects with a PagletError-like error of `code`; returns it. */
export async function assertRejectsCode(
  fn: () => Promise<unknown>,
  code: string,
): Promise<Error & { code: string }> {
  try {
    await fn();
  } catch (err) {
    const e = err as Error & { code: string };
    assert.equal(e.code, code, `expected error code ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new assert.AssertionError({ message: `expected a rejection with code ${code}` });
}

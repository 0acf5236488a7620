/** Bounded concurrency for fan-outs (peers, /proc entries, every agent of a host). */

/**
 * Runs `fn` over `items` with at most `limit` running at a time; resolves when all are done.
 *
 * @example
 * ```ts
 * await forEachLimited(urls, 16, async (url) => void await fetch(url));
 * ```
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`Cannot run as 'limit' must be a positive integer: current value is ${limit}`);
  }
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** The tiny task of scripts/bench/runner.ts: a function returning its argument + 1. */
export function addOne(x: number): number {
  return x + 1;
}

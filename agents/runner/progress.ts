/**
 * A progress bar over futures, for scripts: redraws one line on stderr (when it is a terminal) as
 * futures settle (at most ten times a second), or calls `onProgress` on every settled future instead.
 *
 * @example
 * ```ts
 * const futures = Array.from({ length: 100 }, (_, i) => work(i));
 * await progress(futures, { label: "batches" });
 * ```
 *
 * @module
 */

/** Counts of {@linkcode progress}. */
export interface Progress {
  done: number;
  failed: number;
  total: number;
}

/** Options of {@linkcode progress}. */
export interface ProgressOptions {
  /** Shown before the bar. @default "tasks" */
  label?: string;
  /** Called on every settled future instead of drawing. */
  onProgress?: (progress: Progress) => void;
  /** Bar width in characters. @default 30 */
  width?: number;
}

/** How often the bar is redrawn at most (thousands of tiny tasks would otherwise write thousands of lines). */
const REDRAW_MS = 100;

/** Draws the bar on stderr: at most every REDRAW_MS, and always at the end. */
function bar(label: string, width: number): (p: Progress) => void {
  const encoder = new TextEncoder();
  let drawnAt = -Infinity;
  return (p) => {
    const settled = p.done + p.failed;
    const now = performance.now();
    if (settled < p.total && now - drawnAt < REDRAW_MS) return;
    drawnAt = now;
    const filled = p.total === 0 ? width : Math.round((width * settled) / p.total);
    const line = `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${settled}/${p.total}` +
      (p.failed ? ` (${p.failed} failed)` : "") + (settled === p.total ? "\n" : "");
    Deno.stderr.writeSync(encoder.encode(line));
  };
}

/**
 * Resolves with the final counts once every future settled (failures are counted, not thrown).
 * Takes any futures or promises, of any mix of result types.
 */
export function progress(
  futures: readonly PromiseLike<unknown>[],
  options: ProgressOptions = {},
): Promise<Progress> {
  const { label = "tasks", width = 30 } = options;
  const counts: Progress = { done: 0, failed: 0, total: futures.length };
  const draw = options.onProgress ?? (Deno.stderr.isTerminal() ? bar(label, width) : () => {});
  if (futures.length === 0) {
    draw(counts);
    return Promise.resolve(counts);
  }
  return new Promise((resolve) => {
    const settle = (ok: boolean) => {
      if (ok) counts.done++;
      else counts.failed++;
      draw({ ...counts });
      if (counts.done + counts.failed === counts.total) resolve(counts);
    };
    for (const f of futures) f.then(() => settle(true), () => settle(false));
  });
}

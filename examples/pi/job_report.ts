/**
 * What a Pi job tells whoever follows it: its digits as they become certain (a {@link DigitStream}
 * that long polls wait on), its progress and its summary (built from the coordinator's state).
 *
 * @module
 */
import { cancel, later } from "../../agents/timers.ts";
import type { PiProgress, PiStatus, PiSummary } from "./operations.ts";
import { digitText, joinDigits } from "./digit_bytes.ts";

/** The coordinator's state fields the reports read (PiCoordinatorState has them all). */
export interface PiJobCounters {
  jobId: string;
  status: PiStatus;
  request: { digits: number; start: number; outputPath: string | null } | null;
  terms: number;
  batchSize: number;
  batches: number;
  batchesDone: number;
  batchesPerHost: Record<string, number>;
  batchesByArithmetic: Record<string, number>;
  digitsEmitted: number;
  retries: number;
  skipped: number;
  failures: number;
  fallbacks: number;
  startedAt: number;
  firstDigitsAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

/**
 * Digits not drained yet (as the post-processor sent them: bytes, see digit_bytes.ts), and the drains
 * waiting for news. `preview` sees the first `previewDigits` digits once (the coordinator sends them
 * to user-info's stream).
 */
export class DigitStream {
  #chunks: Uint8Array[] = [];
  #previewed = 0;
  readonly #wakers = new Set<() => void>();
  readonly #previewDigits: number;
  readonly #preview: (text: string) => void;

  constructor(previewDigits: number, preview: (text: string) => void) {
    this.#previewDigits = previewDigits;
    this.#preview = preview;
  }

  /** Appends digits made certain (the preview gets its share of them). */
  push(digits: Uint8Array): void {
    this.pushQuietly(digits);
    const room = this.#previewDigits - this.#previewed;
    if (room <= 0 || digits.length === 0) return;
    const chunk = digits.subarray(0, room);
    this.#previewed += chunk.length;
    this.#preview(digitText(chunk));
  }

  /** Appends digits the preview never sees (those emitted while the job ends). */
  pushQuietly(digits: Uint8Array): void {
    if (digits.length > 0) this.#chunks.push(digits);
  }

  get pending(): boolean {
    return this.#chunks.length > 0;
  }

  /** The digits not drained yet, as text; they leave the stream. */
  take(): string {
    // Each piece decoded on its own: joining the bytes first would copy a million digits once more.
    const text = this.#chunks.map(digitText).join("");
    this.#chunks = [];
    return text;
  }

  /** The digits not drained yet, as bytes in one piece (shared memory: no copy to another thread). */
  takeBytes(): Uint8Array {
    const bytes = joinDigits(this.#chunks);
    this.#chunks = [];
    return bytes;
  }

  /** Resolves at the next {@link wake} or after `ms`. */
  news(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        cancel(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = later(Math.max(0, ms), done);
      this.#wakers.add(done);
    });
  }

  /** Something changed (digits, a batch outcome, the end): every waiting drain answers. */
  wake(): void {
    for (const w of [...this.#wakers]) w();
  }
}

/** Milliseconds the job has run (until its end, once it ended). */
export function elapsedMs(s: PiJobCounters): number {
  return s.startedAt ? (s.finishedAt ?? Date.now()) - s.startedAt : 0;
}

/** The job's progress, as `pi.drain_stream` answers it. */
export function progressOf(s: PiJobCounters, termsDone: number, batchesRunning: number): PiProgress {
  return {
    status: s.status,
    digits: s.request?.digits ?? 0,
    digitsEmitted: s.digitsEmitted,
    terms: s.terms,
    termsDone,
    batches: s.batches,
    batchesDone: s.batchesDone,
    batchesRunning,
    hostsUsed: Object.keys(s.batchesPerHost).length,
    retries: s.retries,
    skipped: s.skipped,
    elapsedMs: elapsedMs(s),
  };
}

/** The job's summary, as `pi.summary` answers it. */
export function summaryOf(s: PiJobCounters): PiSummary {
  const wallTimeMs = elapsedMs(s);
  return {
    jobId: s.jobId,
    status: s.status,
    start: s.request?.start ?? 0,
    digits: s.request?.digits ?? 0,
    digitsEmitted: s.digitsEmitted,
    terms: s.terms,
    batchSize: s.batchSize,
    batches: s.batches,
    batchesDone: s.batchesDone,
    hostsUsed: Object.keys(s.batchesPerHost).sort(),
    batchesPerHost: { ...s.batchesPerHost },
    batchesByArithmetic: { ...s.batchesByArithmetic },
    retries: s.retries,
    skipped: s.skipped,
    failures: s.failures,
    fallbacks: s.fallbacks,
    wallTimeMs,
    firstDigitsMs: s.firstDigitsAt === null ? null : s.firstDigitsAt - s.startedAt,
    digitsPerSecond: wallTimeMs > 0 ? Math.round(s.digitsEmitted / (wallTimeMs / 1000)) : 0,
    outputPath: s.request?.outputPath ?? null,
    error: s.error,
  };
}

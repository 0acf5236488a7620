/**
 * One job's assembly as the pi-math service keeps it (math_service.ts): the assembly on a pi worker, and
 * the digits it emitted which the post-processor has not collected yet.
 *
 * Sums parked on this host go into the assembly the moment their batch finishes, not when their handle
 * has travelled back through the batch worker, the coordinator and the post-processor (two agent hops,
 * tens of ms). The last batch's sums thus start the end while its handle is still on its way, and the
 * post-processor's `assembly-add` for a parked handle only waits for that add to be done. Because adds
 * may finish before the post-processor asks for them, and in another order, every answer collects all
 * the digits emitted so far (in the order the assembly emitted them), never one add's own.
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";
import type { AssemblyJob, EndCorrectionSoon, TermFragment } from "./assembly.ts";
import type { AssemblyClient } from "./assembly_client.ts";
import { type DigitsUpdate, joinDigits } from "./digit_bytes.ts";

export class HostedAssembly {
  readonly job: AssemblyJob;
  readonly #open: (job: AssemblyJob) => AssemblyClient;
  #client: AssemblyClient | undefined;
  /** Emitted and not collected yet, in the order emitted (bytes in shared memory: digit_bytes.ts). */
  #chunks: Uint8Array[] = [];
  #latest: Omit<DigitsUpdate, "digits" | "needTerms"> = { emitted: 0, prefixTerms: 0, done: false };
  /** The last "extend the series" answer, until collected. */
  #needTerms: number | undefined;

  /** `open` opens the assembly on a pi worker (at the first add, or when asked to by {@link client}). */
  constructor(job: AssemblyJob, open: (job: AssemblyJob) => AssemblyClient) {
    this.job = job;
    this.#open = open;
  }

  /** The open assembly, opened now if it was not. */
  client(): AssemblyClient {
    return this.#client ??= this.#open(this.job);
  }

  /**
   * Adds a fragment; the digits it makes certain wait here until {@link collect}. A correction still
   * under way (a promise) follows the fragment (assembly_client.ts).
   */
  async add(
    fragment: TermFragment,
    splitAt?: number,
    delta?: EndCorrectionSoon,
  ): Promise<void> {
    this.#keep(await this.client().add(fragment, splitAt, delta));
  }

  /** Emits every digit the contiguous prefix makes certain (into what {@link collect} answers). */
  async flush(): Promise<void> {
    this.#keep(await this.client().flush());
  }

  /** Every digit emitted and not collected yet, with the latest counters. */
  collect(): DigitsUpdate {
    const update = { ...this.#latest, digits: joinDigits(this.#chunks), needTerms: this.#needTerms };
    this.#chunks = [];
    this.#needTerms = undefined;
    return update;
  }

  close(): void {
    this.#client?.close();
  }

  #keep(update: DigitsUpdate): void {
    const { digits, needTerms, ...latest } = update;
    if (digits.length > 0) this.#chunks.push(digits);
    this.#latest = latest;
    if (needTerms !== undefined) this.#needTerms = needTerms;
  }
}

/**
 * What a batch left with its assembly (PiMathBatch's `parkFor`): its sums, and their add to the
 * assembly when it was open already.
 */
export interface ParkedBatch {
  value: Omit<TermFragment, "a" | "b">;
  added?: Promise<void>;
}

/** Batch results waiting on this host for their assembly's post-processor to name them. */
export class ParkedSums<T = ParkedBatch> {
  readonly #byKey = new Map<string, Map<string, T>>();
  #next = 1;

  /** Keeps `value` for the assembly `key`; returns its handle. */
  park(key: string, value: T): string {
    const handle = `p${this.#next++}`;
    const forKey = this.#byKey.get(key) ?? new Map<string, T>();
    forKey.set(handle, value);
    this.#byKey.set(key, forKey);
    return handle;
  }

  /** Hands out (and forgets) what `handle` holds for `key`. */
  take(key: string, handle: string): T {
    const forKey = this.#byKey.get(key);
    const value = forKey?.get(handle);
    if (!forKey || value === undefined) {
      throw new PagletError("not_found", `No parked Pi sums '${handle}' for '${key}' on this host`);
    }
    forKey.delete(handle);
    if (forKey.size === 0) this.#byKey.delete(key);
    return value;
  }

  /** Forgets everything kept for `key` (its assembly closed). */
  drop(key: string): void {
    this.#byKey.delete(key);
  }

  clear(): void {
    this.#byKey.clear();
  }

  /** Handles kept, over all keys. */
  get size(): number {
    let n = 0;
    for (const m of this.#byKey.values()) n += m.size;
    return n;
  }
}

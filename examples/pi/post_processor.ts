/**
 * `examples.pi.post_processor`: lives beside the coordinator on the entry host, one per job. It takes
 * the finished batch sums (`pi.fragment`), has them merged by its assembly (assembly.ts) and answers
 * with the digits they made certain (as bytes: digit_bytes.ts), which it also appends to the output
 * file.
 *
 * The assembly runs on two compute threads of the host's `pi-math` service (math_service.ts): a handler
 * only passes the fragment on and waits for the answer, so this paglet's mailbox is the assembly's queue
 * and its agent worker never computes. On a host without that service the assembly runs here, on one
 * thread. Either way it lives in memory, not in the state: after a restart every request fails and the
 * coordinator ends the job with the digits written so far.
 *
 * @module
 */
import { type LifecycleEvent, type Message, Paglet } from "../../agents/mod.ts";
import { PagletError } from "../../agents/errors.ts";
import { handle, routeOperations } from "../../agents/operations.ts";
import { type AssemblyJob, formatDigits, PiAssembly, type TermFragment } from "./assembly.ts";
import { digitBytes, type DigitsUpdate, NO_DIGITS, withDigitBytes } from "./digit_bytes.ts";
import { piDigits } from "./digits.ts";
import type { TermSums } from "./chudnovsky.ts";
import { piOperations } from "./lazy_operations.ts";
import { later } from "../../agents/timers.ts";
import { writeAll } from "../../host/write_all.ts";

/** The assembly of one job: on the host's pi-math threads, or in this worker. */
/** A batch's sums, or the handle of sums parked with this host's pi-math service. */
type Fragment = Omit<TermFragment, "sums"> & { sums?: TermSums; parked?: string };

interface Assembly {
  add(fragment: Fragment, splitAt?: number): Promise<DigitsUpdate>;
  flush(): Promise<DigitsUpdate>;
  close(): Promise<void>;
}

/**
 * The head start: a window that begins before this position and is longer than one stream chunk
 * gets its first chunk of digits from a short series of its own (8,192 digits: about 600 terms,
 * 10-40 ms on one thread) as soon as the job starts, while the batches compute; the assembly then
 * emits the window after them. Without it the first digits wait for the first batch (about a third
 * of the whole series).
 */
const HEAD_BEFORE = 1 << 16;

/** Service calls may wait this long (the end of a very long job). */
const NO_TIMEOUT_MS = 24 * 3600_000;

export interface PiPostProcessorState {
  jobId: string;
  start: number;
  digits: number;
  terms: number;
  chunk: number;
  outputPath: string | null;
  emitted: number;
  done: boolean;
  /** Test fault (`holdPostProcessorDispose`): the first instance's disposal waits until the host gives up. */
  holdDispose: boolean;
}

export class PiPostProcessor extends Paglet<PiPostProcessorState> {
  static override readonly type = "examples.pi.post_processor";

  #assembly: Promise<Assembly> | undefined;
  #file: Deno.FsFile | undefined;
  /**
   * The head start (see HEAD_BEFORE): how many digits, the digits until the coordinator takes them, and
   * once they are computed and written.
   */
  #head = {
    count: 0,
    digits: NO_DIGITS,
    written: undefined as Promise<void> | undefined,
  };
  /** The test fault `holdDispose`, for the instance created with it (not one restored after a crash). */
  #holdDispose = false;

  override initialState(): PiPostProcessorState {
    return {
      jobId: "",
      start: 0,
      digits: 0,
      terms: 0,
      chunk: 8192,
      outputPath: null,
      emitted: 0,
      done: false,
      holdDispose: false,
    };
  }

  override async onCreation(_event: LifecycleEvent): Promise<void> {
    const { start, digits, terms, chunk, outputPath, holdDispose } = this.state;
    this.#holdDispose = holdDispose;
    if (outputPath) {
      try {
        this.#file = await Deno.open(outputPath, { write: true, create: true, truncate: true });
      } catch (err) {
        throw new PagletError(
          "invalid_request",
          `Cannot write the Pi digits to ${outputPath}: ${(err as Error).message}`,
        );
      }
    }
    if (start < HEAD_BEFORE && digits > chunk) this.#head.count = Math.min(chunk, HEAD_BEFORE - start);
    const head = this.#head.count;
    // Not awaited: the assembly opens (and the host's compute threads start) while the coordinator
    // places the batches.
    this.#assembly = this.#open({ start: start + head, digits: digits - head, terms, chunk });
    this.#assembly.catch(() => {});
  }

  override async onMessage(message: Message): Promise<unknown> {
    const op = await piOperations();
    return await routeOperations(message, [
      handle(
        op.PI_FRAGMENT,
        async ({ a, b, sums, parked, ratio, left, splitAt }) =>
          this.#record(await (await this.#math()).add({ a, b, sums, parked, ratio, left }, splitAt)),
      ),
      handle(op.PI_FLUSH, async () => this.#record(await (await this.#math()).flush())),
      handle(op.PI_HEAD, async () => {
        await this.#writeHead();
        const digits = this.#head.digits;
        this.#head.digits = NO_DIGITS;
        return { digits, emitted: this.#head.count, prefixTerms: 0, done: false };
      }),
    ]) ?? this.notHandled(message);
  }

  override async onDisposing(_event: LifecycleEvent): Promise<void> {
    if (this.#holdDispose) await new Promise<never>(() => {});
    await this.#close();
  }

  override onDeactivating(_event: LifecycleEvent): Promise<void> {
    return this.#close();
  }

  async #close(): Promise<void> {
    const assembly = this.#assembly;
    this.#assembly = undefined;
    this.#file?.close();
    this.#file = undefined;
    await assembly?.then((a) => a.close(), () => {});
  }

  async #open(job: AssemblyJob): Promise<Assembly> {
    const key = this.id;
    const call = (op: string, request: Record<string, unknown>) =>
      this.context.callService("pi-math", op, { key, ...request }, { timeoutMs: NO_TIMEOUT_MS });
    try {
      const opened = await call("assembly-open", { job }) as { threadsStarting?: boolean };
      // The host's pi-math threads start now and hold its kernel thread (~30 ms per thread, one per
      // CPU), which the batches' leases wait for anyway: the head start's digits fill that time
      // (else the coordinator asks for them once it has placed the batches). Not for a
      // post-processor disposed meanwhile (#assembly cleared).
      if (opened.threadsStarting && this.#assembly) void this.#writeHead().catch(() => {});
    } catch (err) {
      if (PagletError.from(err).code !== "service_not_found") throw err;
      const local = new PiAssembly(job);
      return {
        add: async ({ sums, parked, ...f }, splitAt) => {
          if (!sums) {
            throw new PagletError(
              "invalid_request",
              `Pi sums parked as '${parked}', but this host has no pi-math`,
            );
          }
          const update = await local.add({ ...f, sums }, splitAt);
          later(0, () => local.prepare()); // after the answer, as on the assembly thread
          return withDigitBytes(update);
        },
        flush: () => Promise.resolve(withDigitBytes(local.flush())),
        close: () => Promise.resolve(),
      };
    }
    return {
      add: (f, splitAt) => call("assembly-add", { ...f, splitAt }) as Promise<DigitsUpdate>,
      flush: () => call("assembly-flush", {}) as Promise<DigitsUpdate>,
      close: async () => void await call("assembly-close", {}).catch(() => {}),
    };
  }

  #math(): Promise<Assembly> {
    if (!this.#assembly) {
      throw new PagletError(
        "state_conflict",
        `The post-processor of Pi job ${this.state.jobId} lost its digits in a restart`,
      );
    }
    return this.#assembly;
  }

  /** Computes the head start's digits and writes them, once (before any digit of the assembly's window). */
  #writeHead(): Promise<void> {
    return this.#head.written ??= (async () => {
      const { count } = this.#head;
      if (count === 0) return;
      this.#head.digits = digitBytes(formatDigits(this.state.start, piDigits(this.state.start, count)));
      if (this.#file) await writeAll(this.#file, this.#head.digits);
    })();
  }

  /** Writes what the assembly emitted; counts the head start in (the assembly's window follows it). */
  async #record(assembled: DigitsUpdate): Promise<DigitsUpdate> {
    await this.#writeHead();
    const update = { ...assembled, emitted: assembled.emitted + this.#head.count };
    this.state.emitted = update.emitted;
    this.state.done = update.done;
    if (this.#file && update.digits.length > 0) await writeAll(this.#file, update.digits);
    if (this.#file && update.done) {
      await writeAll(this.#file, NEWLINE);
      this.#file.close();
      this.#file = undefined;
    }
    return update;
  }
}

const NEWLINE = new Uint8Array([0x0a]);

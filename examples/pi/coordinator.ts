/**
 * `examples.pi.coordinator`: schedules one Pi job from the entry host. It partitions the digit window
 * into Chudnovsky term batches, asks local mesh-info for eligible hosts, turns their free load slots
 * into launch capacity (placement.ts), creates batch worker paglets on them in parallel and hands each
 * finished batch to the job's post-processor, which merges and formats the digits.
 *
 * Batch workers answer `pi.compute_batch` (result, skipped or failed) as replies, and the
 * post-processor answers each fragment with the digits it made certain, so nothing the coordinator
 * waits for goes through its own mailbox: `pi.drain_stream` and `pi.summary` can wait for news inside
 * a handler without holding up the job, and a batch whose host vanished shows up as a failed request.
 *
 * Skipped batches go back to the front of the queue; failed ones are retried on another host (when
 * there is one) until `maxAttempts`, then the job fails and keeps the digits it has. With no capacity
 * anywhere and nothing running, one fallback worker computes regardless of load.
 *
 * The batch book, the digits in flight and the job's assembly live in memory, so a coordinator that
 * starts again (its host restarted or its worker replaced, moved, or back from a failed move) ends
 * its job as failed, its error naming which (the reason the host gives its `onActivation`). Its helpers are named before they are created, in its state (`batchesOut`,
 * `postProcessor`: every save of the state names them, a move's too) and in its journal on disk
 * (helper_journal.ts: written before the creation is asked for, so a crash at any point leaves none
 * unnamed); each leaves both once its host said it is gone. So that instance disposes those its former
 * one left on any host, instead of leaving them to compute for no one. A batch whose creation was
 * still on its way at a crash, and reached its host after that disposal found nothing there, asks
 * the coordinator whether it is wanted (`pi.batch_wanted`, batch_worker.ts) and disposes itself.
 *
 * @example
 * ```ts
 * // in a paglet (or a script through HostClient.send):
 * const ref = await this.context.create("examples.pi.coordinator");
 * const send = (m: MessageInput) => this.context.send(ref, m);
 * await callOperation(send, PI_START_ASYNC, { digits: 1000 } as PiJobRequest);
 * const summary = await callOperation(send, PI_SUMMARY, { waitMs: 60_000 });
 * ```
 *
 * @module
 */
import {
  type AgentRef,
  type LifecycleEvent,
  type Message,
  type MessageInput,
  Paglet,
} from "../../agents/mod.ts";
import { mayPass, PagletError } from "../../agents/errors.ts";
import { interruptionOf } from "../../agents/activation_reasons.ts";
import { callOperation, handle, type Operation, routeOperations } from "../../agents/operations.ts";
import type { SelectTargetsReply } from "../../services/mesh_info/contract.ts";
import type { StatusReply as SlotsStatus } from "../../services/compute_slots/contract.ts";
// compute-slots keys its peers by this form; mesh-info's URLs go through it too, to match them.
import { normalizeHostUrl } from "../../services/compute_slots/request.ts";
import { batchRanges, termsForDigits } from "./chudnovsky.ts";
import { BatchTable } from "./batch_table.ts";
import { HelperJournal } from "./helper_journal.ts";
import { planWindow } from "./digits.ts";
import { PiBatchWorker } from "./batch_worker.ts";
import { PiPostProcessor, type PiPostProcessorState } from "./post_processor.ts";
import { type PiOperations, piOperations } from "./lazy_operations.ts";
import type {
  PiAssemblyReply,
  PiBatchOutcome,
  PiDrainReply,
  PiFragment,
  PiJobRequest,
  PiStartReply,
  PiStatus,
} from "./operations.ts";
import {
  autoBatchCount,
  autoBatches,
  fallbackHost,
  freshCoresOf,
  type HostLoad,
  launchSlots,
  type PlacementLimits,
  totalCapacity,
} from "./placement.ts";
import { cancel, every, later, sleep, type Timer } from "../../agents/timers.ts";
import { DigitStream, type PiJobCounters, progressOf, summaryOf } from "./job_report.ts";

export interface PiCoordinatorState extends PiJobCounters {
  request: PiJobRequest | null;
  /** The job's post-processor, named before it is created, until its host said it is gone. */
  postProcessor: AgentRef | null;
  /**
   * Batch workers that may exist: id → their host's URL. Entered before the worker is created, so
   * every save of the state from then on (the reply of the handler that placed it, the host's
   * checkpoint, a move) names it; removed once it answered (it then disposes itself) or its host
   * said it is gone.
   */
  batchesOut: Record<string, string>;
}

/** Placement is re-read from mesh-info this often while batches wait. */
const REFRESH_MS = 2000;
/** How long mesh-info gets to answer before the coordinator places on its own host alone. */
const SELECT_TIMEOUT_MS = 2000;
/** The longest a batch or fragment request may take when the job has no timeout. */
const NO_TIMEOUT_MS = 24 * 3600_000;
/** More batches than this are refused (every batch is a paglet). */
const MAX_BATCHES = 100_000;
/** Digits of a job shown live to people (user-info stream, the dashboard): the start is enough to watch. */
const PREVIEW_DIGITS = 2000;
/**
 * Rounds of disposing a helper while its host answers with a failure that may pass (restarting,
 * unreachable a moment), and the pause before the first retry (doubled each round).
 */
const DISPOSE_ROUNDS = 5;
const DISPOSE_PAUSE_MS = 500;

export class PiCoordinator extends Paglet<PiCoordinatorState> {
  static override readonly type = "examples.pi.coordinator";

  #table = new BatchTable([]);
  readonly #inFlight = new Map<string, number>();
  #targets: HostLoad[] = [];
  #targetsAt = 0;
  #refreshing: Promise<void> | null = null;
  /**
   * Hosts where a batch was skipped as too busy, and when: busy until a refresh that began after
   * the skip (a refresh already under way read the host before it and must not undo the mark).
   */
  readonly #skippedAt = new Map<string, number>();
  readonly #hostNames = new Map<string, string>();
  /** Every host this job has seen as a target (a failed batch is retried elsewhere when there is one). */
  readonly #seenHosts = new Set<string>();
  /** Digits not drained yet; their first {@link PREVIEW_DIGITS} also go to user-info's stream. */
  readonly #stream = new DigitStream(PREVIEW_DIGITS, (chunk) => this.#preview(chunk));
  /**
   * Batch workers created (or being created) by this instance whose batch has not come back, by id:
   * disposed when the job ends, so that none waits on for a core (up to 10 minutes in a host's queue)
   * or computes for no one.
   */
  readonly #batchWorkers = new Map<string, Promise<AgentRef>>();
  /** The post-processor, once created (batches may finish first: their sums wait for it). */
  #postProcessor?: Promise<AgentRef>;
  /** The helpers' names on disk, written before each is created (helper_journal.ts). */
  readonly #journal = new HelperJournal(() => this.context.workDir());
  /** Fragment replies, applied in the order the fragments were sent. */
  #applied: Promise<void> = Promise.resolve();
  #timers: Timer[] = [];
  /** No new launches (the job is ending, or this instance is leaving its worker). */
  #stopping = false;
  /** This instance started the job (else a running job in the state is a former instance's). */
  #started = false;
  /** This instance was just created: no former instance left it anything. */
  #fresh = false;

  override initialState(): PiCoordinatorState {
    return {
      jobId: "",
      status: "idle",
      request: null,
      postProcessor: null,
      batchesOut: {},
      terms: 0,
      batchSize: 0,
      batches: 0,
      batchesDone: 0,
      batchesPerHost: {},
      batchesByArithmetic: {},
      digitsEmitted: 0,
      retries: 0,
      skipped: 0,
      failures: 0,
      fallbacks: 0,
      startedAt: 0,
      firstDigitsAt: null,
      finishedAt: null,
      error: null,
    };
  }

  override async onMessage(message: Message): Promise<unknown> {
    const op = await piOperations();
    return await routeOperations(message, [
      handle(op.PI_START_ASYNC, (req) => this.#start(req)),
      handle(op.PI_DRAIN_STREAM, ({ waitMs, as }) => this.#drain(waitMs, as)),
      handle(op.PI_SUMMARY, async ({ waitMs }) => {
        await this.#ended(waitMs);
        return summaryOf(this.state);
      }),
      handle(op.PI_CANCEL, async () => {
        if (this.state.status === "running") await this.#end("cancelled", "cancelled");
        return summaryOf(this.state);
      }),
      // Only this instance's batches still being created or computing are wanted (see #launch).
      handle(op.PI_BATCH_WANTED, ({ id }) => ({ wanted: this.#batchWorkers.has(id) })),
    ]) ?? this.notHandled(message);
  }

  override onCreation(_event: LifecycleEvent): void {
    this.#fresh = true;
  }

  /**
   * A running job's coordinator activated again: its error says why, as the host tells it. A copy
   * whose start waited (its onClone never ran) is a copy all the same.
   */
  override onActivation(event: LifecycleEvent): void {
    if (event.reason === "clone-waited") return this.onClone(event);
    this.#interrupted(interruptionOf(event.reason));
  }

  override onArrival(event: LifecycleEvent): void {
    this.#interrupted(`interrupted by a move to ${event.hostName}`);
  }

  override onClone(_event: LifecycleEvent): void {
    // The helpers are the original's, whose job runs on there.
    Object.assign(this.state, { postProcessor: null, batchesOut: {} });
    this.#interrupted("a copy of a running job (the job runs on in the original)");
  }

  override onDispatching(_event: LifecycleEvent): void {
    this.#leave();
  }

  override onDeactivating(_event: LifecycleEvent): void {
    this.#leave();
  }

  /**
   * In an instance that did not start the job, the job is a former instance's: ended (when the hook
   * that started this one did not say why, as after a move that failed late), and the helpers the
   * state or the journal names are disposed, the batch workers still out on every host included
   * (also those of a start that had not answered: its state was never stored).
   */
  override async run(): Promise<void> {
    if (this.#started || this.#fresh) return;
    this.state.batchesOut ??= {}; // a state saved before coordinators recorded them
    this.#interrupted("interrupted: the coordinator started again");
    const journal = await this.#journal.read().catch(() => []);
    // A job started while the journal was read is this instance's: only the journal's names are former.
    if (!this.#started) return await this.#disposeHelpers(journal);
    await this.#disposeRefs(journal.filter((ref) => !ref.id.startsWith(`${this.state.jobId}-`)));
  }

  override async onDisposing(_event: LifecycleEvent): Promise<void> {
    if (this.state.status === "running") this.state.status = "cancelled";
    this.#stopping = true;
    this.#clearTimers();
    this.#stream.wake();
    await this.#disposeHelpers();
  }

  /** A running job this instance did not start ends as failed: its book and digits in flight are gone. */
  #interrupted(error: string): void {
    if (this.state.status !== "running" || this.#started) return;
    Object.assign(this.state, { status: "failed", error, finishedAt: Date.now() });
  }

  /**
   * This instance leaves its worker (moved or deactivated): it launches nothing more, so the state it
   * leaves with names every batch it placed.
   */
  #leave(): void {
    this.#stopping = true;
    this.#clearTimers();
    this.#stream.wake();
  }

  // --- starting -------------------------------------------------------------------------------

  async #start(req: PiJobRequest): Promise<PiStartReply> {
    if (this.state.status !== "idle") {
      throw new PagletError(
        "state_conflict",
        `This coordinator already ran Pi job ${this.state.jobId}; create another`,
      );
    }
    this.#started = true;
    const terms = termsForDigits(req.start, req.digits);
    if (req.batchSize > 0 && Math.ceil(terms / req.batchSize) > MAX_BATCHES) {
      throw new PagletError(
        "invalid_request",
        `--batch-size ${req.batchSize} would make ${
          Math.ceil(terms / req.batchSize)
        } batches of the ${terms} terms; at most ${MAX_BATCHES} are allowed`,
      );
    }
    const jobId = `pi-${crypto.randomUUID().slice(0, 8)}`;
    const pp: AgentRef = { id: `${jobId}-pp`, host: this.host.url };
    Object.assign(this.state, { jobId, request: req, terms, startedAt: Date.now(), postProcessor: pp });
    const ppState: PiPostProcessorState = {
      jobId,
      start: req.start,
      digits: req.digits,
      terms,
      chunk: req.streamChunkSize,
      outputPath: req.outputPath,
      emitted: 0,
      done: false,
      holdDispose: req.faults?.holdPostProcessorDispose ?? false,
    };
    // The post-processor is created (and opens the job's assembly) while mesh-info answers and the
    // first batches start: it is needed only when their sums come back. Named on disk first, as the
    // batches are (#launch).
    const created = this.#journal.created([pp]).then(() =>
      this.context.create(PiPostProcessor.type, { id: pp.id, state: { ...ppState } })
    );
    created.catch(() => {});
    this.#postProcessor = created;
    await this.#refreshTargets();
    const limits = this.#limits();
    // More batches than cores on a host only add merges: the plan counts at most a core per slot.
    const capacities = this.#targets.map((h) =>
      Math.min(h.cpuCount, totalCapacity([h], this.#inFlight, limits))
    );
    const capacity = capacities.reduce((s, c) => s + c, 0);
    const withCapacity = capacities.filter((c) => c > 0).length;
    const batches = req.batchSize > 0
      ? batchRanges(terms, req.batchSize)
      : autoBatches(terms, autoBatchCount(terms, capacity, withCapacity));
    this.#table = new BatchTable(batches);
    Object.assign(this.state, {
      status: "running",
      batches: batches.length,
      batchSize: req.batchSize > 0 ? req.batchSize : Math.ceil(terms / batches.length),
    });
    if (req.timeoutSeconds > 0) {
      this.#timers.push(later(
        req.timeoutSeconds * 1000,
        () => void this.#end("failed", `timed out after ${req.timeoutSeconds} s`),
      ));
    }
    this.#timers.push(every(REFRESH_MS, () => void this.#refreshTargets().then(() => this.#pump())));
    this.#pump();
    this.#takeHead();
    try {
      await created;
    } catch (err) {
      const error = PagletError.from(err);
      await this.#end("failed", `the post-processor could not start: ${error.message}`);
      throw error;
    }
    // Test fault: the job is stored only once it ended (a crash before leaves a start never stored).
    if (req.faults?.holdStart) await this.#ended(NO_TIMEOUT_MS);
    return {
      jobId,
      coordinatorId: this.id,
      postProcessorId: `${jobId}-pp`,
      hostUrl: this.host.url,
      summary: summaryOf(this.state),
    };
  }

  #limits(): PlacementLimits {
    const r = this.state.request!;
    return {
      maxLoadPerCpu: r.maxLoadPerCpu,
      maxCpuPercent: r.maxCpuPercent,
      maxWorkersPerHost: r.maxWorkersPerHost,
      maxInFlight: r.maxInFlight,
    };
  }

  /**
   * Reads the hosts from local mesh-info. Load limits are applied here (placement.ts), because only
   * the coordinator knows which part of a host's load is the job's own; memory, disk, freshness and
   * reachability are mesh-info's. Without an answer, this host alone.
   */
  #refreshTargets(): Promise<void> {
    const r = this.state.request!;
    this.#refreshing ??= (async () => {
      const readFrom = Date.now();
      try {
        const [reply, fresh] = await Promise.all([
          this.context.callService("mesh-info", "select-targets", {
            maxLoadPerCpu: 1e9,
            maxCpuPercent: 100,
            minMemoryAvailableBytes: r.minMemoryBytes,
            minWorkFreeBytes: r.minDiskBytes,
            includeSelf: true,
          }, { timeoutMs: SELECT_TIMEOUT_MS }) as Promise<SelectTargetsReply>,
          this.#coresInUse(),
        ]);
        this.#targets = reply.targets.map((t) => ({
          hostName: t.hostName,
          hostUrl: t.hostUrl,
          cpuCount: t.cpuCount,
          load1: t.load1,
          cpuPercent: t.cpuPercent,
          score: t.score,
          freshCores: fresh.get(normalizeHostUrl(t.hostUrl)),
        }));
      } catch {
        this.#targets = [{
          hostName: this.host.name,
          hostUrl: this.host.url,
          cpuCount: this.host.cpuCount,
          load1: Deno.loadavg()[0],
          cpuPercent: null,
          score: 0,
        }];
      }
      for (const t of this.#targets) {
        this.#hostNames.set(t.hostUrl, t.hostName);
        this.#seenHosts.add(t.hostUrl);
        const skipped = this.#skippedAt.get(t.hostUrl);
        if (skipped === undefined) continue;
        if (skipped >= readFrom) this.#markBusy(t);
        else this.#skippedAt.delete(t.hostUrl); // read after the skip: the host says how busy it is
      }
      this.#targetsAt = Date.now();
    })().finally(() => this.#refreshing = null);
    return this.#refreshing;
  }

  /**
   * Cores in use now on each host compute-slots has a fresh status of (this one and its peers):
   * other processes' busy cores plus its leases' reservations (placement.ts `freshCores`). Empty
   * without compute-slots; a host without that measure is left out.
   */
  async #coresInUse(): Promise<Map<string, number>> {
    const inUse = new Map<string, number>();
    try {
      const status = await this.context.callService("compute-slots", "status", { includePeers: true }, {
        timeoutMs: SELECT_TIMEOUT_MS,
      }) as SlotsStatus;
      for (const h of [status.host, ...(status.peers ?? [])]) {
        const cores = freshCoresOf(h);
        if (cores !== undefined) inUse.set(normalizeHostUrl(h.hostUrl), cores);
      }
    } catch { /* no compute-slots here: load1 alone */ }
    return inUse;
  }

  /** Counts `t` as full (a batch there was skipped as too busy): placement gives it nothing. */
  #markBusy(t: HostLoad): void {
    t.freshCores = undefined;
    t.load1 = Math.max(
      t.load1,
      t.cpuCount * this.state.request!.maxLoadPerCpu + (this.#inFlight.get(t.hostUrl) ?? 0) + 1,
    );
  }

  // --- launching ------------------------------------------------------------------------------

  /** Fills the free slots with waiting batches (or sends the one fallback worker). */
  #pump(): void {
    if (this.state.status !== "running" || this.#stopping || this.#table.waiting === 0) return;
    const limits = this.#limits();
    const slots = launchSlots(this.#targets, this.#inFlight, limits, this.#table.waiting);
    // A failed batch goes to another host, unless this job has never seen one.
    const single = this.#seenHosts.size <= 1;
    // When every waiting batch starts now, the last (the largest: it ends the series) starts first.
    const lastFirst = slots.length >= this.#table.waiting;
    let launched = 0;
    for (const url of slots) {
      const entry = this.#table.take(url, single, lastFirst);
      if (entry) {
        this.#launch(entry.index, url, false);
        launched++;
      }
    }
    if (launched === 0 && this.#running() === 0) {
      const first = fallbackHost(this.#targets, this.host.url);
      const candidates = [first, ...this.#targets.map((t) => t.hostUrl).filter((u) => u !== first)];
      for (const url of candidates) {
        const entry = this.#table.take(url, single || url === candidates.at(-1));
        if (!entry) continue;
        this.state.fallbacks++;
        this.#launch(entry.index, url, true);
        break;
      }
    }
    if (Date.now() - this.#targetsAt > REFRESH_MS) void this.#refreshTargets().then(() => this.#pump());
  }

  #running(): number {
    let n = 0;
    for (const v of this.#inFlight.values()) n += v;
    return n;
  }

  #launch(index: number, url: string, force: boolean): void {
    const entry = this.#table.get(index);
    const req = this.state.request!;
    const own = this.#inFlight.get(url) ?? 0;
    this.#inFlight.set(url, own + 1);
    const hostName = this.#hostNames.get(url) ?? url;
    const faults = req.faults;
    const fault = faults?.skipBatches.includes(index) && entry.launches === 1
      ? "skip" as const
      : faults?.failBatches.some((f) => f.index === index && entry.failures < f.times) ||
          faults?.failHosts.includes(hostName)
      ? "fail" as const
      : undefined;
    const jobId = this.state.jobId;
    const id = `${jobId}-b${index}-${entry.launches}`;
    // Named before it exists, in the state (every save from now on names it: a move's too) and on
    // disk (before its creation is asked for: a crash at any point leaves it named), so that a
    // coordinator that starts again disposes it (run()). The batches a pump launches share one write.
    this.state.batchesOut[id] = url;
    const named = this.#journal.created([{ id, host: url }]);
    void (async (): Promise<PiBatchOutcome> => {
      let answered = false;
      try {
        await named;
        if (this.#stopping) return { kind: "pi.batch_failed", error: "the job ended", hostName };
        // It asks this coordinator whether it is still wanted if its request does not come: a
        // creation that reaches its host after a crash of this one's, and after the next instance's
        // disposal of it found nothing there, would else wait for no one.
        const coordinator = { id: this.id, host: this.host.url };
        const created = this.context.create(PiBatchWorker.type, {
          host: url,
          id,
          state: { jobId, index, coordinator },
        });
        this.#batchWorkers.set(id, created);
        const ref = await created;
        const send = (m: MessageInput) => this.context.send(ref, m, { timeoutMs: this.#requestTimeoutMs() });
        const outcome = await callOperation(send, (await piOperations()).PI_COMPUTE_BATCH, {
          jobId,
          index,
          a: entry.a,
          b: entry.b,
          withP: entry.b < this.state.terms,
          // The last batch reduces itself to the ratio the end needs (halves.ts), beside the sums.
          ratioBits: entry.b === this.state.terms && entry.a > 0 ? this.#finalBits() : undefined,
          // The batch right before the last one, when it starts the series, prepares the left part.
          leftBits: entry.a === 0 && entry.b === this.#lastBatchStart() ? this.#finalBits() : undefined,
          attempt: entry.launches,
          force,
          maxLoadPerCpu: req.maxLoadPerCpu,
          minMemoryBytes: req.minMemoryBytes,
          ownWorkersOnHost: own,
          // Sums computed beside the post-processor stay with this host's pi-math service.
          parkFor: url === this.host.url ? `${jobId}-pp` : undefined,
          splitAt: url === this.host.url ? this.#lastBatchStart() : undefined,
          fault,
        });
        answered = true;
        return outcome;
      } catch (err) {
        return { kind: "pi.batch_failed", error: PagletError.from(err).message, hostName };
      } finally {
        this.#batchWorkers.delete(id);
        // A batch that answered disposes itself; any other may exist until its host says it is gone.
        if (answered) this.#forget(id);
        else void this.#disposeRefs([{ id, host: url }]);
      }
    })().then((outcome) => {
      this.#inFlight.set(url, (this.#inFlight.get(url) ?? 1) - 1);
      this.#settle(index, url, outcome);
    });
  }

  /** First term of the last batch. */
  #lastBatchStart(): number {
    return this.#table.get(this.#table.size - 1).a;
  }

  /** Bits of the fixed-point value the end computes (digits.ts planWindow). */
  #finalBits(): number {
    const r = this.state.request!;
    return planWindow(this.state.terms, r.start, r.digits).bits;
  }

  #requestTimeoutMs(): number {
    const t = this.state.request!.timeoutSeconds;
    return t > 0 ? Math.max(1000, this.state.startedAt + t * 1000 - Date.now() + 1000) : NO_TIMEOUT_MS;
  }

  #settle(index: number, url: string, outcome: PiBatchOutcome): void {
    if (this.state.status !== "running" || this.#stopping) return;
    const entry = this.#table.get(index);
    switch (outcome.kind) {
      case "pi.batch_result": {
        this.#table.done(index);
        this.state.batchesDone++;
        const per = this.state.batchesPerHost;
        per[outcome.hostName] = (per[outcome.hostName] ?? 0) + 1;
        if (outcome.arithmetic) {
          const by = this.state.batchesByArithmetic ??= {};
          by[outcome.arithmetic] = (by[outcome.arithmetic] ?? 0) + 1;
        }
        const ratio = outcome.ratio === undefined
          ? undefined
          : { bits: this.#finalBits(), value: outcome.ratio };
        const { sums, parked, left } = outcome;
        this.#forward({ index, a: entry.a, b: entry.b, sums, parked, ratio, left });
        break;
      }
      case "pi.batch_skipped": {
        this.state.skipped++;
        this.#table.requeue(index);
        // Busy until a refresh reads the host again: no new batches there before it.
        this.#skippedAt.set(url, Date.now());
        const t = this.#targets.find((h) => h.hostUrl === url);
        if (t) this.#markBusy(t);
        break;
      }
      case "pi.batch_failed": {
        this.state.failures++;
        if (entry.failures + 1 >= this.state.request!.maxAttempts) {
          void this.#end(
            "failed",
            `batch ${index} (terms ${entry.a}..${entry.b - 1}) failed ${
              entry.failures + 1
            } times, last on ${outcome.hostName}: ${outcome.error}`,
          );
          return;
        }
        this.state.retries++;
        this.#table.requeue(index, url);
        break;
      }
    }
    this.#stream.wake();
    this.#pump();
  }

  // --- digits ---------------------------------------------------------------------------------

  /**
   * Sends a batch's sums (or the handle of sums parked on this host) to the post-processor now; its
   * answers are applied in sending order.
   */
  #forward(fragment: Omit<PiFragment, "splitAt">): void {
    const splitAt = this.#lastBatchStart();
    this.#askInOrder((op) => op.PI_FRAGMENT, { ...fragment, splitAt }, (err) => {
      void this.#end("failed", `the post-processor failed: ${PagletError.from(err).message}`);
    });
  }

  /** The post-processor's head start (see post_processor.ts), first in line before any batch's digits. */
  #takeHead(): void {
    this.#askInOrder((op) => op.PI_HEAD, {}, () => {
      /* the digits come with the batches, as without a head start */
    });
  }

  /**
   * Asks the post-processor now; its answer is applied after the answers asked for before it, while
   * the job runs (`failed` when the question fails).
   */
  #askInOrder<Req>(
    pick: (op: PiOperations) => Operation<Req, PiAssemblyReply>,
    request: Req,
    failed: (err: unknown) => void,
  ): void {
    const send = async (m: MessageInput) =>
      this.context.send(await this.#postProcessor!, m, { timeoutMs: this.#requestTimeoutMs() });
    const reply = piOperations().then((op) => callOperation(send, pick(op), request));
    reply.catch(() => {});
    this.#applied = this.#applied.then(async () => {
      if (this.state.status !== "running") return;
      try {
        this.#accept(await reply);
      } catch (err) {
        failed(err);
      }
    });
  }

  #accept(update: PiAssemblyReply): void {
    if (update.digits.length > 0) {
      this.#stream.push(update.digits);
      this.state.firstDigitsAt ??= Date.now();
    }
    this.state.digitsEmitted = update.emitted;
    if (update.done) {
      // #end wakes the drain once the status says so: the last digits and "done" go in one answer.
      void this.#end("done", null);
      return;
    } else if (update.needTerms && update.needTerms > this.state.terms) {
      // A run of 9s or 0s after the window: a few more terms decide it.
      this.#table.add({ index: this.#table.size, a: this.state.terms, b: update.needTerms });
      this.state.terms = update.needTerms;
      this.state.batches = this.#table.size;
      this.#pump();
    }
    this.#stream.wake();
  }

  /**
   * The first {@link PREVIEW_DIGITS} digits also go to user-info's stream (the dashboard's Pi panel,
   * `paglets follow`), named by the job id `pi --json` reports; the rest only to the job's own drain.
   */
  #preview(chunk: string): void {
    const streamId = this.state.jobId;
    void this.context.callService("user-info", "stream", { streamId, text: chunk }).catch(() => {
      /* a host without user-info shows no preview */
    });
  }

  /**
   * Ends the job once the fragment answers already under way are applied; a failed or cancelled job
   * first emits every digit its finished batches made certain. Runs as a link of that chain, so code
   * inside the chain must not wait for it.
   */
  #end(status: Exclude<PiStatus, "idle" | "running">, error: string | null): Promise<void> {
    if (this.state.status !== "running" || this.#stopping) return this.#applied;
    this.#stopping = true;
    this.#clearTimers();
    this.#applied = this.#applied.then(async () => {
      const pp = await this.#postProcessor?.catch(() => null);
      if (status !== "done" && pp) {
        try {
          const update = await callOperation(
            (m) => this.context.send(pp, m, { timeoutMs: 60_000 }),
            (await piOperations()).PI_FLUSH,
            {},
          );
          this.#stream.pushQuietly(update.digits);
          this.state.digitsEmitted = update.emitted;
        } catch { /* the digits written so far stay */ }
      }
      Object.assign(this.state, { status, error, finishedAt: Date.now() });
      this.#stream.wake(); // the last drain answers at once; the post-processor goes meanwhile
      await this.#disposeHelpers();
    });
    return this.#applied;
  }

  /**
   * Disposes the post-processor and the batch workers out: this instance's, also those still being
   * created, and those a former instance left (known by the state and by `former`, the journal's).
   * The batches' disposals are asked for, not waited for: one that computes waits for its arithmetic
   * (batch_worker.ts), longer than this paglet's own `onDisposing` may take.
   */
  async #disposeHelpers(former: AgentRef[] = []): Promise<void> {
    const own = [...this.#batchWorkers.values()];
    const named = new Map(Object.entries(this.state.batchesOut));
    for (const ref of former) named.set(ref.id, ref.host);
    for (const id of [...this.#batchWorkers.keys(), this.state.postProcessor?.id]) if (id) named.delete(id);
    this.#batchWorkers.clear();
    // Their requests then fail, and each leaves the state once its host said it is gone (#launch).
    const disposing = Promise.all(own.map((created) => created.catch(() => null))).then((refs) => {
      for (const ref of refs) if (ref) void this.context.dispose(ref).catch(() => {});
    });
    void this.#disposeRefs([...named].map(([id, host]) => ({ id, host })));
    await Promise.all([this.#disposePostProcessor(), disposing]);
  }

  /** Disposes the post-processor, also one still being created when the job ended. */
  async #disposePostProcessor(): Promise<void> {
    const pp = this.state.postProcessor;
    if (!pp) return;
    // A creation under way ends first: a dispose before it would find nothing, and it would stay.
    await this.#postProcessor?.catch(() => {});
    this.#postProcessor = undefined;
    await this.#disposeRefs([pp]);
  }

  /**
   * Disposes helpers; each leaves the state and the journal once its host answered (disposed, no
   * such agent there, or a failure that will not pass). One whose host still fails with failures that
   * may pass after {@link DISPOSE_ROUNDS} rounds stays named, for a later instance to try again.
   */
  async #disposeRefs(refs: AgentRef[]): Promise<void> {
    let left = refs;
    let pause = DISPOSE_PAUSE_MS;
    for (let round = 1; left.length > 0; round++) {
      const failed = await Promise.all(left.map(async (ref) => {
        try {
          await this.context.dispose(ref);
        } catch (err) {
          // An instance that left learns nothing: the state it left with names the helper.
          if (mayPass(err) || !this.context.isCurrent()) return ref;
        }
        this.#forget(ref.id);
        return null;
      }));
      left = failed.filter((ref) => ref !== null);
      if (left.length === 0 || round === DISPOSE_ROUNDS || !this.context.isCurrent()) break;
      await sleep(pause);
      pause *= 2;
    }
    await this.#journal.flush().catch(() => {});
  }

  /** A helper known gone leaves the records. */
  #forget(id: string): void {
    delete this.state.batchesOut[id];
    if (this.state.postProcessor?.id === id) this.state.postProcessor = null;
    this.#journal.gone(id);
  }

  /** Waits up to `waitMs` for the job to end. */
  async #ended(waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (this.state.status === "running" && Date.now() < deadline) {
      await this.#stream.news(deadline - Date.now());
    }
  }

  #clearTimers(): void {
    for (const t of this.#timers) cancel(t);
    this.#timers = [];
  }

  // --- answering ------------------------------------------------------------------------------

  async #drain(waitMs: number, as: "text" | "bytes"): Promise<PiDrainReply> {
    this.#pump();
    if (!this.#stream.pending && this.state.status === "running" && waitMs > 0) {
      await this.#stream.news(waitMs);
    }
    const digits = as === "bytes"
      ? { text: "", bytes: this.#stream.takeBytes() }
      : { text: this.#stream.take() };
    return {
      ...digits,
      progress: progressOf(this.state, this.#table.termsDone(), this.#running()),
      error: this.state.error,
    };
  }
}

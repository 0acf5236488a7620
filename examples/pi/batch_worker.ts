/**
 * `examples.pi.batch`: a short-lived paglet that computes one batch of Chudnovsky terms on the host it
 * was created on, answers the coordinator's `pi.compute_batch` with the binary-splitting sums
 * (`pi.batch_result`; bigints, CBOR between hosts), and disposes itself.
 *
 * Before computing it looks at the host's load once more, by the count the coordinator placed it with
 * (placement.ts: load1, or compute-slots' cores in use now when fewer; the two must agree, or a batch
 * the coordinator places would be skipped again and again): if strangers' load per CPU is above the
 * job's limit (the host became busy since it was sampled) it answers `pi.batch_skipped` and the
 * coordinator requeues the batch. The fallback worker (`force`) skips that look. Then it takes a
 * one-core lease from the host's compute-slots, like any compute step (waiting in its queue when no
 * core is free), so a Pi run and compute jobs never reserve more cores than the host has. The
 * arithmetic runs on a compute thread of the host's `pi-math` service (math_service.ts), pinned to the
 * lease's CPU; on a host without that service, on this paglet's own agent worker.
 *
 * Disposed before it answers (its job ended), it leaves the queue at once; while it computes, its
 * disposal waits for the arithmetic (up to `onDisposing`'s 10 s), so that the lease, which its
 * disposal gives back, is not granted again while the thread still computes. Woken from disk or
 * restored after a host restart, its request is gone with the old instance: it disposes itself. A
 * batch whose request does not come asks its coordinator whether it still wants it, and disposes
 * itself when not (its creation reached this host after the coordinator that asked for it was gone:
 * the next instance's disposal, which came first, found nothing here).
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
import { callOperation, handle, routeOperations } from "../../agents/operations.ts";
import { PagletError } from "../../agents/errors.ts";
import { splitTerms, type TermSums } from "./chudnovsky.ts";
import { defaultSqrtCache } from "./digits.ts";
import { type LeftPart, leftPart, misplacedLeftPart, rightRatio } from "./halves.ts";
import { piOperations } from "./lazy_operations.ts";
import type { PiBatchOutcome, PiBatchRequest } from "./operations.ts";
import { freshCoresOf, loadOverLimit } from "./placement.ts";
import type { StatusReply as SlotsStatus } from "../../services/compute_slots/contract.ts";
import { cancel, later, orAfter, type Timer } from "../../agents/timers.ts";

export interface PiBatchWorkerState {
  jobId: string;
  index: number;
  /** The coordinator that placed it, asked when the request does not come (none: nobody is asked). */
  coordinator?: AgentRef;
}

/** A batch computes as long as it takes (the job's --timeout, when set, ends the job). */
const NO_TIMEOUT_MS = 24 * 3600_000;

/** What a batch answers with: its sums (or their handle), and its share of the end when asked for it. */
interface BatchSums {
  sums?: TermSums;
  ratio?: bigint;
  left?: LeftPart;
  parked?: string;
  /** The CPUs the kernel allowed the pi-math thread (under a lease). */
  observedCpus?: number[];
  /** What the batch computed on: a pi-math thread's (gmp_engine.ts), or BigInt here. */
  arithmetic?: "gmp" | "bigint";
}

/**
 * How long a batch waits in the compute-slots queue for its core, and how often it asks again when
 * the grant message does not reach it first.
 */
const SLOT_WAIT_MS = 10 * 60_000;
const SLOT_POLL_MS = 250;
/** How long the busy check waits for compute-slots' status before going by load1 alone. */
const STATUS_TIMEOUT_MS = 2000;
/**
 * How long a batch waits for its request before it asks its coordinator whether it still wants it
 * (the request follows its creation at once), the longest pause between two questions (each pause
 * doubles the one before), and how long each question may take (the coordinator answers between
 * its handlers, of which `pi.summary` waits long).
 */
const ASK_AFTER_MS = 2000;
const ASK_MAX_MS = 30_000;
const ASK_TIMEOUT_MS = 10_000;

/** What compute-slots answered a batch's request-slot with (the fields a batch reads). */
type SlotDecision =
  | { decision: "run_now"; lease: { leaseId: string; cpuIds: number[] } }
  | { decision: "sleep"; position: number }
  | { decision: "redirect" | "rejected"; reason: string };

/** A batch's lease: its CPU ids, or none (no compute-slots here, or the fallback); or why it waits. */
type Lease = { kind: "leased"; leaseId?: string; cpuIds?: number[] } | { kind: "waiting"; reason: string };

export class PiBatchWorker extends Paglet<PiBatchWorkerState> {
  static override readonly type = "examples.pi.batch";
  /** Wakes a batch waiting in the compute-slots queue (its grant arrived). */
  #granted?: () => void;
  /** The arithmetic under way, on a pi-math thread or here. */
  #computing?: Promise<unknown>;
  /** Activated again: the request it was made for went with its old instance. */
  #stale = false;
  /** Resolved when its request came. */
  readonly #requested = Promise.withResolvers<void>();

  override initialState(): PiBatchWorkerState {
    return { jobId: "", index: 0 };
  }

  override onActivation(_event: LifecycleEvent): void {
    this.#stale = true;
  }

  override async run(): Promise<void> {
    if (this.#stale || await this.#unwanted()) await this.context.dispose();
  }

  /**
   * Whether its coordinator does not want it, asked while its request does not come: the coordinator
   * says so, or is gone. A question that finds no answer (its host down or restarting, its mailbox
   * held) is asked again; a batch that had no request within {@link SLOT_WAIT_MS} is not wanted
   * either (its coordinator would have disposed it by then: a job that ended, or started again).
   */
  async #unwanted(): Promise<boolean> {
    const coordinator = this.state.coordinator;
    if (!coordinator) return false;
    const deadline = Date.now() + SLOT_WAIT_MS;
    const send = (m: MessageInput) => this.context.send(coordinator, m, { timeoutMs: ASK_TIMEOUT_MS });
    for (let pause = ASK_AFTER_MS;; pause = Math.min(2 * pause, ASK_MAX_MS)) {
      if (await this.#requestWithin(Math.min(pause, deadline - Date.now()))) return false;
      if (Date.now() >= deadline) return this.context.isCurrent();
      if (!this.context.isCurrent()) return false;
      try {
        const { wanted } = await callOperation(send, (await piOperations()).PI_BATCH_WANTED, { id: this.id });
        if (!wanted) return true;
      } catch (err) {
        if (PagletError.from(err).code === "agent_not_found") return true;
      }
    }
  }

  /** Whether its request comes within `ms`. */
  #requestWithin(ms: number): Promise<boolean> {
    return orAfter(this.#requested.promise.then(() => true), Math.max(0, ms), false);
  }

  override async onDisposing(_event: LifecycleEvent): Promise<void> {
    await this.#computing?.catch(() => {});
  }

  override async onMessage(message: Message): Promise<unknown> {
    // A queued batch's grant: it picks the lease up by asking again (see #lease).
    if (message.kind === "compute_slot_granted") {
      this.#granted?.();
      return { accepted: true };
    }
    const op = await piOperations();
    return await routeOperations(message, [handle(op.PI_COMPUTE_BATCH, (req) => this.#compute(req))]) ??
      this.notHandled(message);
  }

  async #compute(req: PiBatchRequest): Promise<PiBatchOutcome> {
    this.#requested.resolve();
    const hostName = this.host.name;
    try {
      if (req.fault === "skip") return { kind: "pi.batch_skipped", reason: "test fault: skip", hostName };
      if (req.fault === "fail") return { kind: "pi.batch_failed", error: "test fault: fail", hostName };
      const misplaced = misplacedLeftPart(req);
      if (misplaced) return { kind: "pi.batch_failed", error: misplaced, hostName };
      const busy = req.force ? null : await this.#busy(req);
      if (busy) return { kind: "pi.batch_skipped", reason: busy, hostName };
      const lease = await this.#lease(req);
      if (lease.kind === "waiting") return { kind: "pi.batch_skipped", reason: lease.reason, hostName };
      try {
        const t0 = performance.now();
        const computing = this.#sums(req, lease.cpuIds);
        this.#computing = computing;
        const result = await computing;
        const computeMs = performance.now() - t0;
        return { kind: "pi.batch_result", ...result, computeMs, hostName, cpuIds: lease.cpuIds };
      } finally {
        if (lease.leaseId) await this.#release(lease.leaseId);
      }
    } catch (err) {
      return { kind: "pi.batch_failed", error: err instanceof Error ? err.message : String(err), hostName };
    } finally {
      await this.context.dispose().catch(() => {});
    }
  }

  /** The sums (or with `parkFor`, their handle on this host), computed on a pi-math thread if there is one. */
  async #sums(req: PiBatchRequest, cpuIds: number[] | undefined): Promise<BatchSums> {
    const { a, b, withP, ratioBits, leftBits, parkFor, splitAt } = req;
    try {
      const request = { a, b, withP, ratioBits, leftBits, parkFor, splitAt, cpuIds };
      return await this.context.callService("pi-math", "batch", request, {
        timeoutMs: NO_TIMEOUT_MS,
      }) as BatchSums;
    } catch (err) {
      if (PagletError.from(err).code !== "service_not_found") throw err;
      const sums = splitTerms(a, b, withP);
      return {
        sums,
        ratio: ratioBits ? rightRatio(sums, ratioBits, a) : undefined,
        left: leftBits ? leftPart(sums, b, leftBits, defaultSqrtCache.get(leftBits)) : undefined,
        arithmetic: "bigint",
      };
    }
  }

  /**
   * A one-core lease from this host's compute-slots, as any compute step takes one: the batch runs on a
   * thread pinned to its CPU. Other hosts are excluded (the batch was placed here). When no core is free
   * the batch waits in the queue, fairly with other jobs, for up to SLOT_WAIT_MS; after that the request
   * leaves the queue and the batch is skipped (the coordinator places it anew). A host without
   * compute-slots runs the batch unleased.
   */
  async #lease(req: PiBatchRequest): Promise<Lease> {
    const requestId = `pi-${this.id}`;
    let request: () => Promise<SlotDecision>;
    let decision: SlotDecision;
    try {
      const others = (await this.context.hosts({ onlineOnly: false }))
        .map((h) => h.url).filter((url) => url !== this.host.url);
      const input = {
        requestId,
        jobId: `pi:${req.jobId}:${req.index}`,
        cpuCores: 1,
        submittedAt: Date.now(),
        excludedHostUrls: others,
      };
      request = async () =>
        await this.context.callService("compute-slots", "request-slot", input) as SlotDecision;
      decision = await request();
    } catch (err) {
      if (PagletError.from(err).code === "service_not_found") return { kind: "leased" };
      throw err;
    }
    // The batch keeps its place in the queue until the scheduler grants it a core (the grant message
    // wakes it; asking again with the same request id answers the lease once granted).
    const deadline = Date.now() + SLOT_WAIT_MS;
    while (decision.decision === "sleep" && Date.now() < deadline) {
      let timer: Timer | undefined;
      await new Promise<void>((resolve) => {
        this.#granted = resolve;
        timer = later(SLOT_POLL_MS, resolve);
      });
      cancel(timer);
      this.#granted = undefined;
      decision = await request();
    }
    if (decision.decision === "run_now") {
      return { kind: "leased", leaseId: decision.lease.leaseId, cpuIds: decision.lease.cpuIds };
    }
    if (decision.decision === "sleep") {
      await this.context.callService("compute-slots", "cancel", { requestIds: [requestId] }).catch(() => {});
    }
    const why = decision.decision === "sleep"
      ? `no free core (queue position ${decision.position})`
      : decision.reason;
    return { kind: "waiting", reason: `compute-slots: ${why}` };
  }

  async #release(leaseId: string): Promise<void> {
    await this.context.callService("compute-slots", "release-slot", { leaseId }).catch(() => {});
  }

  /**
   * Cores in use here by compute-slots' measure (placement.ts `freshCoresOf`), as the coordinator
   * counted them; undefined without compute-slots, without an answer in time or without the figure.
   */
  async #freshCores(): Promise<number | undefined> {
    try {
      const status = await this.context.callService("compute-slots", "status", {}, {
        timeoutMs: STATUS_TIMEOUT_MS,
      }) as SlotsStatus;
      return status?.host ? freshCoresOf(status.host) : undefined;
    } catch {
      return undefined; // load1 alone, as the coordinator then counts this host
    }
  }

  /** Why this host is too busy for the batch now, or null. */
  async #busy(req: PiBatchRequest): Promise<string | null> {
    const here = {
      cpuCount: this.host.cpuCount,
      load1: Deno.loadavg()[0],
      freshCores: await this.#freshCores(),
    };
    const overLoad = loadOverLimit(here, req.ownWorkersOnHost, req.maxLoadPerCpu);
    if (overLoad) return overLoad;
    if (req.minMemoryBytes > 0) {
      const available = Deno.systemMemoryInfo().available;
      if (available < req.minMemoryBytes) {
        return `memory available ${available} < ${req.minMemoryBytes} bytes`;
      }
    }
    return null;
  }
}

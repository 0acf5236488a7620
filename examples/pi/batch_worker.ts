/**
 * `examples.pi.batch`: a short-lived paglet that computes one batch of Chudnovsky terms on the host it
 * was created on, answers the coordinator's `pi.compute_batch` with the binary-splitting sums
 * (`pi.batch_result`; bigints, CBOR between hosts), and disposes itself.
 *
 * Before computing it looks at the host's load once more: if strangers' load1 per CPU is above the
 * job's limit (the host became busy since mesh-info sampled it) it answers `pi.batch_skipped` and the
 * coordinator requeues the batch. The fallback worker (`force`) computes regardless. The arithmetic
 * runs on a compute thread of the host's `pi-math` service (math_service.ts); on a host without that
 * service, on this paglet's own agent worker.
 *
 * @module
 */
import { type Message, Paglet } from "../../agents/mod.ts";
import { handle, routeOperations } from "../../agents/operations.ts";
import { PagletError } from "../../agents/errors.ts";
import { splitTerms, type TermSums } from "./chudnovsky.ts";
import { defaultSqrtCache } from "./digits.ts";
import { type LeftPart, leftPart, misplacedLeftPart, rightRatio } from "./halves.ts";
import { piOperations } from "./lazy_operations.ts";
import type { PiBatchOutcome, PiBatchRequest } from "./operations.ts";

export interface PiBatchWorkerState {
  jobId: string;
  index: number;
}

/** A batch computes as long as it takes (the job's --timeout, when set, ends the job). */
const NO_TIMEOUT_MS = 24 * 3600_000;

/** What a batch answers with: its sums (or their handle), and its share of the end when asked for it. */
interface BatchSums {
  sums?: TermSums;
  ratio?: bigint;
  left?: LeftPart;
  parked?: string;
}

export class PiBatchWorker extends Paglet<PiBatchWorkerState> {
  static override readonly type = "examples.pi.batch";

  override initialState(): PiBatchWorkerState {
    return { jobId: "", index: 0 };
  }

  override async onMessage(message: Message): Promise<unknown> {
    const op = await piOperations();
    return await routeOperations(message, [handle(op.PI_COMPUTE_BATCH, (req) => this.#compute(req))]) ??
      this.notHandled(message);
  }

  async #compute(req: PiBatchRequest): Promise<PiBatchOutcome> {
    const hostName = this.host.name;
    try {
      if (req.fault === "skip") return { kind: "pi.batch_skipped", reason: "test fault: skip", hostName };
      if (req.fault === "fail") return { kind: "pi.batch_failed", error: "test fault: fail", hostName };
      const misplaced = misplacedLeftPart(req);
      if (misplaced) return { kind: "pi.batch_failed", error: misplaced, hostName };
      const busy = req.force ? null : this.#busy(req);
      if (busy) return { kind: "pi.batch_skipped", reason: busy, hostName };
      const t0 = performance.now();
      const result = await this.#sums(req);
      return { kind: "pi.batch_result", ...result, computeMs: performance.now() - t0, hostName };
    } catch (err) {
      return { kind: "pi.batch_failed", error: err instanceof Error ? err.message : String(err), hostName };
    } finally {
      await this.context.dispose().catch(() => {});
    }
  }

  /** The sums (or with `parkFor`, their handle on this host), computed on a pi-math thread if there is one. */
  async #sums(req: PiBatchRequest): Promise<BatchSums> {
    const { a, b, withP, ratioBits, leftBits, parkFor } = req;
    try {
      const request = { a, b, withP, ratioBits, leftBits, parkFor };
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
      };
    }
  }

  /** Why this host is too busy for the batch now, or null. */
  #busy(req: PiBatchRequest): string | null {
    const cpus = Math.max(1, this.host.cpuCount);
    const load1 = Math.max(0, Deno.loadavg()[0] - req.ownWorkersOnHost);
    if (load1 / cpus > req.maxLoadPerCpu) {
      return `load per cpu ${(load1 / cpus).toFixed(2)} > ${req.maxLoadPerCpu}`;
    }
    if (req.minMemoryBytes > 0) {
      const available = Deno.systemMemoryInfo().available;
      if (available < req.minMemoryBytes) {
        return `memory available ${available} < ${req.minMemoryBytes} bytes`;
      }
    }
    return null;
  }
}

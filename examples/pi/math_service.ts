/**
 * `pi-math`: compute threads for the Pi example, started by the host's main thread and used by the Pi
 * paglets through `callService`. Batch workers run their binary splitting here (`batch`); the
 * post-processor keeps its assembly here (`assembly-*`), one pair of threads per job.
 *
 * Why a service: paglets live in agent workers, and Deno 2.9 starts a worker created inside another
 * worker about 0.5 s late, for a 1,000,000-digit job longer than the computation itself. Threads
 * started here start in ~20 ms and are kept for the next batch. The kernel thread only passes the
 * numbers along; all arithmetic runs in the threads. A host without this service still runs the Pi
 * paglets: they then compute on their own agent worker.
 *
 * @example
 * ```ts
 * const host = await Host.start({ name: "a", port: 0, dataDir }, [serviceExtension([piMathService()])]);
 * ```
 *
 * @module
 */
import { z } from "zod";
import { operation } from "../../agents/operations.ts";
import { PagletError } from "../../agents/errors.ts";
import { defineService, serviceContract, type ServiceDefinition } from "../../services/contract.ts";
import type { AssemblyJob } from "./assembly.ts";
import type { TermSums } from "./chudnovsky.ts";
import { EndCorrections } from "./end_corrections.ts";
import { type LeftPart, misplacedLeftPart } from "./halves.ts";
import { LeftPartSchema, PiAssemblyReply, PiFragment, TermSumsSchema } from "./operations.ts";
import { PiWorkerPool } from "./worker_pool.ts";
import { later } from "../../agents/timers.ts";
import { HostedAssembly, ParkedSums } from "./hosted_assembly.ts";

const Key = z.string().min(1).max(200);

export const PiMathBatch = operation(
  "batch",
  z.object({
    a: z.number().int().min(0),
    b: z.number().int().min(1),
    withP: z.boolean(),
    /** Also reduce the range to its ratio T/Q for a result of this many bits (the last batch). */
    ratioBits: z.number().int().min(1).optional(),
    /** Also prepare the range [0, b) as the left part of the end for a result of this many bits. */
    leftBits: z.number().int().min(1).optional(),
    /**
     * Keep the result on this host for the assembly with this key and answer with a handle instead
     * (`parked`): the sums then reach the assembly without passing through the paglets.
     */
    parkFor: Key.optional(),
    /** With `parkFor`: the first term of the job's last batch (see AssemblyJob.splitAt). */
    splitAt: z.number().int().min(0).optional(),
    /** The CPU ids of the caller's compute-slots lease: the thread runs pinned to them. */
    cpuIds: z.array(z.number().int().min(0)).min(1).optional(),
  }),
  z.object({
    sums: TermSumsSchema.optional(),
    ratio: z.bigint().optional(),
    left: LeftPartSchema.optional(),
    parked: z.string().optional(),
    /** With `cpuIds`: the CPUs the kernel allowed the thread while it computed. */
    observedCpus: z.array(z.number()).optional(),
    /** What the thread computed on (see gmp_engine.ts). */
    arithmetic: z.enum(["gmp", "bigint"]).optional(),
  }),
);
export const PiAssemblyOpen = operation(
  "assembly-open",
  z.object({
    key: Key,
    job: z.object({
      start: z.number().int().min(0),
      digits: z.number().int().min(0),
      terms: z.number().int().min(1),
      chunk: z.number().int().min(1),
    }),
  }),
  // threadsStarting: the pool's threads start right after this answer, holding the host's kernel
  // thread (see the handler).
  z.object({ ok: z.boolean(), threadsStarting: z.boolean().optional() }),
);
export const PiAssemblyAdd = operation(
  "assembly-add",
  // A fragment as the post-processor got it (sums, or the handle of sums a `batch` call parked here).
  PiFragment.omit({ index: true }).extend({ key: Key }),
  PiAssemblyReply,
);
export const PiAssemblyFlush = operation("assembly-flush", z.object({ key: Key }), PiAssemblyReply);
export const PiAssemblyClose = operation(
  "assembly-close",
  z.object({ key: Key }),
  z.object({ ok: z.boolean() }),
);

export const PiMathContract = serviceContract({
  name: "pi-math",
  version: "1",
  description: "Compute threads of the Pi example: Chudnovsky batches and digit assembly",
  scope: "local",
  lifecycle: "lazy",
  idleTimeoutMs: 60_000,
  operations: {
    batch: PiMathBatch,
    "assembly-open": PiAssemblyOpen,
    "assembly-add": PiAssemblyAdd,
    "assembly-flush": PiAssemblyFlush,
    "assembly-close": PiAssemblyClose,
  },
});

/** The pi-math service definition. */
export function piMathService(): ServiceDefinition {
  return defineService(PiMathContract, () => {
    let pool: PiWorkerPool | undefined;
    let running = 0;
    /** Open assemblies, each on pi worker 0 (opened just after assembly-open answers). */
    const assemblies = new Map<string, HostedAssembly>();
    /** Batch results kept for an assembly (by its key, then handle) until it names them or closes. */
    const parked = new ParkedSums();
    const batchPool = () => pool ??= new PiWorkerPool(Math.max(1, navigator.hardwareConcurrency || 1));
    /** Corrections of the ends of assemblies on this host, computed as soon as their parts are in. */
    const ends = new EndCorrections(batchPool);
    /** Keys of assemblies closed lately: a batch that finishes after its job ended is not kept for it. */
    const closed = new RecentKeys(1024);
    const assembly = (key: string) => {
      const found = assemblies.get(key);
      if (!found) {
        throw new PagletError(
          "not_found",
          `No Pi assembly '${key}' on this host (closed, or lost in a restart)`,
        );
      }
      return found;
    };
    const open = (job: AssemblyJob) => batchPool().openAssembly(job);
    return {
      handlers: {
        batch: async ({ a, b, withP, ratioBits, leftBits, parkFor, splitAt, cpuIds }) => {
          if (b <= a) throw new PagletError("invalid_request", `Empty term range [${a}, ${b})`);
          const misplaced = misplacedLeftPart({ a, b, withP, leftBits });
          if (misplaced) throw new PagletError("invalid_request", misplaced);
          running++;
          try {
            const pool = batchPool();
            // The batch that ends the series finishes last: keep it off worker 0, where the assemblies
            // live, whose requests would otherwise wait behind it.
            const worker = ratioBits ? pool.idlest(true) : pool.idlest();
            // Its thread keeps the ratio: the end's correction may queue right behind it there.
            const endsHere = ratioBits && parkFor && !closed.has(parkFor) ? parkFor : undefined;
            if (endsHere) ends.lastBatchRunning(endsHere, { a, b, bits: ratioBits!, worker });
            const task = ratioBits
              ? { op: "splitWithRatio" as const, a, b, withP, bits: ratioBits }
              : leftBits
              ? { op: "splitWithLeft" as const, m: b, bits: leftBits }
              : { op: "split" as const, a, b, withP };
            const { result: computed, observedCpus, arithmetic } = await pool.runReporting(
              task,
              worker,
              cpuIds,
            )
              .catch((err) => {
                if (endsHere) ends.lastBatchFailed(endsHere);
                throw err;
              });
            const result: { sums: TermSums; ratio?: bigint; left?: LeftPart } = "sums" in computed
              ? computed
              : { sums: computed };
            if (!parkFor) return { ...result, observedCpus, arithmetic };
            if (closed.has(parkFor)) {
              throw new PagletError("not_found", `The Pi assembly '${parkFor}' has closed (its job ended)`);
            }
            const ratio = ratioBits && result.ratio !== undefined
              ? { bits: ratioBits, value: result.ratio }
              : undefined;
            // Beside its assembly: the end's correction starts once both of its parts are here.
            if (result.left) ends.leftPart(parkFor, result.left);
            if (ratio) ends.lastBatch(parkFor, a, ratio.bits, ratio.value);
            const value = { sums: result.sums, ratio, left: result.left };
            // Into its assembly at once when that is open (hosted_assembly.ts); the correction, when
            // this batch completes it, is under way by now and follows the fragment, for which the
            // end waits there.
            const hosted = assemblies.get(parkFor);
            const added = hosted && hosted.add({ a, b, ...value }, splitAt, ends.pending(parkFor));
            added?.catch(() => {}); // the post-processor's assembly-add for this handle reports it
            return { parked: parked.park(parkFor, { value, added }), observedCpus, arithmetic };
          } finally {
            running--;
          }
        },
        "assembly-open": ({ key, job }) => {
          if (assemblies.has(key)) {
            throw new PagletError("state_conflict", `Pi assembly '${key}' is open already`);
          }
          const hosted = new HostedAssembly(job, open);
          assemblies.set(key, hosted);
          const threadsStarting = !pool?.full;
          // The pi workers start after this answer. Each start holds this thread ~30 ms (Deno's `new
          // Worker` waits for the new thread's runtime), so the batches' leases wait for them, and the
          // post-processor computes its head start meanwhile (threadsStarting). The workers load their
          // modules while the batches wait for their leases. The assembly opens on worker 0, beside
          // the left batch, before the others start (see PiWorkerPool.openAssembly).
          later(0, () => {
            if (assemblies.get(key) !== hosted) return;
            try {
              hosted.client();
              batchPool().startAll();
            } catch {
              // A thread that cannot start (its script unreadable): the job's next request here
              // tries again and answers the error; a timer's throw would end the host.
            }
          });
          return { ok: true, threadsStarting };
        },
        "assembly-add": async ({ key, a, b, sums, parked: handle, ratio, left, splitAt }) => {
          if ((sums === undefined) === (handle === undefined)) {
            throw new PagletError("invalid_request", "assembly-add needs either sums or a parked handle");
          }
          const found = assembly(key);
          const batch = sums ? { value: { sums, ratio, left } } : parked.take(key, handle!);
          // Once the correction is under way, the end waits for it rather than computing it again.
          await (batch.added ?? found.add({ a, b, ...batch.value }, splitAt, await ends.get(key)));
          return found.collect();
        },
        "assembly-flush": async ({ key }) => {
          const found = assembly(key);
          await found.flush();
          return found.collect();
        },
        "assembly-close": ({ key }) => {
          assemblies.get(key)?.close();
          parked.drop(key);
          ends.drop(key);
          closed.add(key);
          return { ok: assemblies.delete(key) };
        },
      },
      busy: () => running > 0 || assemblies.size > 0 || parked.size > 0,
      stop: (why) => {
        // A stopping host's process ends next, which gives the threads' C heap back.
        pool?.close({ giveBackMemory: why !== "host-stop" });
        for (const a of assemblies.values()) a.close();
        assemblies.clear();
        parked.clear();
        ends.clear();
      },
    };
  });
}

/** The last `size` keys added (oldest forgotten first). */
class RecentKeys {
  readonly #keys = new Set<string>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  add(key: string): void {
    this.#keys.delete(key);
    this.#keys.add(key);
    if (this.#keys.size > this.#size) this.#keys.delete(this.#keys.values().next().value!);
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }
}

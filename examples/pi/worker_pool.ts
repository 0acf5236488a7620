/**
 * A fixed number of pi workers (split_worker.ts) driven by promises. Each worker runs its tasks in order; a
 * task goes to a chosen worker (to reuse what that worker keeps: its power cache, a kept ratio) or to the one
 * with the fewest tasks outstanding. Workers are started on first use, so that the first task is posted
 * one worker start (30-46 ms measured on Deno 2.9.6, during which the starting thread is held) earlier
 * than if the whole pool were started up front.
 */
import { hostBundleFile, hostCodeFrom, PI_WORKER_BUNDLE } from "../../cli/host_code.ts";
import type { Arithmetic, PortGrant, Task, TaskReply, TaskRequest, TaskResult } from "./tasks.ts";
import type { AssemblyJob } from "./assembly.ts";
import { AssemblyClient } from "./assembly_client.ts";
import { PendingReplies } from "./replies.ts";
import { holdFreedMemory } from "../../host/compute/native_heap.ts";

/** The worker an assembly opens on unless told otherwise (its helper is the next one). */
export const ASSEMBLY_HOME = 0;

export class PiWorkerPool {
  readonly size: number;
  #workers: (Worker | undefined)[];
  #load: number[];
  readonly #replies = new PendingReplies<TaskReply>();
  #closed = false;
  /** Assemblies on the pool's workers: they fail with the pool. */
  readonly #assemblies = new Set<AssemblyClient>();
  /** While the pool has threads, the C heap keeps freed memory for GMP's next products (native_heap.ts). */
  #heapHeld: ((trim?: boolean) => void) | undefined;

  constructor(size = 2) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`bad pool size ${size}`);
    this.size = size;
    this.#workers = new Array(size).fill(undefined);
    this.#load = new Array(size).fill(0);
  }

  /**
   * Run a task on worker `index`, or on the least busy one. The promise counts as handled even if nobody
   * awaits it, so that abandoning a computation halfway (on an error) leaves no unhandled rejection.
   */
  run<T extends Task>(task: T, index?: number): Promise<TaskResult<T>> {
    return this.#post(task, index).then((r) => r.result as TaskResult<T>);
  }

  /**
   * Like run, also answering with the thread's arithmetic (GMP or BigInt alone); with `cpuIds` (a
   * compute-slots lease) the thread runs pinned to them while the task runs, and the answer has the
   * CPUs the kernel allowed it meanwhile.
   */
  runReporting<T extends Task>(
    task: T,
    index: number | undefined,
    cpuIds?: number[],
  ): Promise<{ result: TaskResult<T>; observedCpus?: number[]; arithmetic?: Arithmetic }> {
    return this.#post(task, index, cpuIds) as Promise<
      { result: TaskResult<T>; observedCpus?: number[]; arithmetic?: Arithmetic }
    >;
  }

  #post(
    task: Task,
    index?: number,
    cpuIds?: number[],
  ): Promise<{ result: unknown; observedCpus?: number[]; arithmetic?: Arithmetic }> {
    if (this.#closed) return Promise.reject(new Error("pi worker pool closed"));
    const i = index ?? this.idlest();
    if (!(i >= 0 && i < this.size)) return Promise.reject(new RangeError(`no worker ${index}`));
    const worker = this.#workers[i] ?? this.#start(i);
    this.#load[i]++;
    const result = this.#replies.call((id) =>
      worker.postMessage((cpuIds ? { id, task, cpuIds } : { id, task }) satisfies TaskRequest)
    );
    result.catch(() => {});
    return result;
  }

  /**
   * The worker with the fewest tasks outstanding: the first such, or with `fromEnd` the last (so that
   * worker 0, where assemblies open, stays free for them).
   */
  idlest(fromEnd = false): number {
    const least = Math.min(...this.#load);
    return fromEnd ? this.#load.lastIndexOf(least) : this.#load.indexOf(least);
  }

  /**
   * Opens `job`'s assembly on worker `home` (assembly_server.ts), with the next worker as its helper
   * when the pool has two or more. It fails with the pool.
   *
   * The home worker gets its open request before the helper's worker is started: starting a worker
   * holds this thread ~30 ms, in which the home loads its script, opens the assembly and computes the
   * end's √10005 (assembly_server.ts), work that otherwise delayed the left batch on that thread.
   * The helper's port waits in its channel until its worker takes it.
   */
  openAssembly(job: AssemblyJob, home = ASSEMBLY_HOME): AssemblyClient {
    const helper = this.size > 1 ? new MessageChannel() : undefined;
    const client: AssemblyClient = new AssemblyClient(
      job,
      this.#grant(home, { serves: "assembly" }),
      helper?.port2,
      () => this.#assemblies.delete(client),
    );
    this.#assemblies.add(client);
    if (helper) {
      try {
        this.#grant((home + 1) % this.size, {}, helper);
      } catch (err) {
        client.close(); // the home has the open already: it drops the assembly (and its root)
        throw err;
      }
    }
    return client;
  }

  /**
   * Gives worker `index` (started if need be) one end of `channel`, on which it runs tasks as well
   * (its own queue interleaves with the pool's) or serves an assembly; returns the other end.
   */
  #grant(index: number, grant: Omit<PortGrant, "port">, channel = new MessageChannel()): MessagePort {
    if (this.#closed) throw new Error("pi worker pool closed");
    const worker = this.#workers[index] ?? this.#start(index);
    worker.postMessage({ ...grant, port: channel.port1 } satisfies PortGrant, [channel.port1]);
    return channel.port2;
  }

  /**
   * A worker with no task outstanding, or undefined when all are busy: a started one first, and
   * another than `avoid` when one is free (an assembly's requests do not count as tasks, see
   * openAssembly: its home may be busy with them).
   */
  freeWorker(avoid?: number): number | undefined {
    const free = this.#load.map((load, i) => (load === 0 ? i : -1)).filter((i) => i >= 0);
    const rank = (i: number) => (this.#workers[i] === undefined ? 2 : 0) + (i === avoid ? 1 : 0);
    return free.sort((a, b) => rank(a) - rank(b))[0];
  }

  /** Starts every worker not started yet, so that they load their modules before their first task. */
  startAll(): void {
    if (this.#closed) return;
    for (let i = 0; i < this.size; i++) this.#workers[i] ??= this.#start(i);
  }

  /** Every worker of the pool has been started. */
  get full(): boolean {
    return this.#workers.every((w) => w !== undefined);
  }

  /**
   * Terminate the workers; pending tasks fail. The C heap the workers' GMP numbers grew goes back to
   * the system (malloc_trim, ~12 ms after a 1,000,000-digit job), unless `giveBackMemory` is false:
   * when the process ends next anyway.
   */
  close({ giveBackMemory = true }: { giveBackMemory?: boolean } = {}): void {
    this.#closed = true;
    for (const w of this.#workers) w?.terminate();
    this.#workers.fill(undefined);
    this.#heapHeld?.(giveBackMemory);
    this.#heapHeld = undefined;
    this.#failAll(new Error("pi worker pool closed"));
  }

  #start(i: number): Worker {
    this.#heapHeld ??= holdFreedMemory();
    const worker = new Worker(piWorkerScript(), { type: "module" });
    worker.onmessage = (e: MessageEvent<TaskReply>) => {
      this.#load[i]--;
      this.#replies.settle(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#failAll(new Error(`pi worker failed: ${e.message}`));
    };
    this.#workers[i] = worker;
    return worker;
  }

  #failAll(error: Error): void {
    this.#replies.failAll(error);
    for (const a of this.#assemblies) a.fail(error);
    this.#assemblies.clear();
  }
}

/**
 * The pi workers' script: its bundle (one file, built with the host's by scripts/host_bundle.ts and
 * checked with it; ~14 ms less on a 1,000,000-digit run's path than ~20 source modules) when this
 * process's host code came from the bundle, else the source.
 */
export function piWorkerScript(): string {
  return hostCodeFrom() === "bundle"
    ? hostBundleFile(PI_WORKER_BUNDLE)
    : new URL("./split_worker.ts", import.meta.url).href;
}

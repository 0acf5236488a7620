/**
 * The Runner: exported functions of a module become tasks that run in parallel on leased cores
 * of the mesh.
 *
 * @example
 * ```ts
 * import { Runner, taskModule } from "paglets";
 * import * as self from "./pi.ts";
 *
 * export function estimateBatch(samples: number): number { ... }
 *
 * await using rr = await Runner.open("pi-estimation", { module: taskModule(import.meta.url, self) });
 * const estimate = rr.service(estimateBatch);
 * const futures = Array.from({ length: 10 }, () => estimate(1_000_000));
 * const inside = (await rr.get(futures)).reduce((a, b) => a + b, 0);
 * ```
 *
 * @module
 */
import { connect } from "../connect.ts";
import { PagletError } from "../errors.ts";
import { interrupted, onInterrupt } from "../interruption.ts";
import { exportNameOf, type TaskModule } from "./code_ref.ts";
import { Dispatcher } from "./dispatcher.ts";
import { type AcquireReply, EXECUTOR_TYPE } from "./executor.ts";
import { RunnerFuture } from "./future.ts";
import { type RunnerConnection, type RunnerHost, RunnerHttp } from "./http.ts";
import { chooseHosts, coresOf, spread } from "./placement.ts";
import { ExecutorChannel, futuresIn, nonPlainArgument, type Task } from "./task.ts";
import { cancel, every, sleep, type Timer } from "../timers.ts";

/** Options of {@linkcode Runner.open}. */
export interface RunnerOptions extends RunnerConnection {
  /** The module whose exports are the services. Scripts run with `paglets run` get theirs by default. */
  module?: TaskModule;
  /** Hosts (names or URLs) to run executors on. @default the entry host and every online peer matching `tags` */
  hosts?: string[];
  /** Only hosts with every one of these tags. @default [] */
  tags?: string[];
  /** Executors in all (one leased core each), spread over the hosts. @default the hosts' CPU count */
  executors?: number;
  /** How long `open` waits for the first executor to get a core. @default 60000 */
  openTimeoutMs?: number;
  /** An executor the Runner stops talking to (a crashed script) releases its core after this. @default 60000 */
  idleTimeoutMs?: number;
}

/** Options of {@linkcode Runner.service}. */
export interface ServiceOptions {
  /** A task running longer is ended and rejects with `task_timeout`. @default 0 (none) */
  timeoutMs?: number;
  /** Re-runs of a task whose executor or host was lost (never for the task's own error). @default 3 */
  retries?: number;
  /** Cancels every task of this service still pending. */
  signal?: AbortSignal;
}

/** Arguments of a service call: each may be a future of the value. */
export type FutureArgs<P extends unknown[]> = { [K in keyof P]: P[K] | RunnerFuture<P[K]> };

/** A service: call it like the function, get a future of its result. */
export type Service<F extends (...args: never[]) => unknown> = (
  ...args: FutureArgs<Parameters<F>>
) => RunnerFuture<Awaited<ReturnType<F>>>;

/** A settled future as {@linkcode Runner.select} yields it. */
export interface Settled<T> {
  future: RunnerFuture<T>;
  /** Position of the future in the list given to `select`. */
  index: number;
  ok: boolean;
  value?: T;
  error?: unknown;
}

/** How often the Runner tends its executors (leases asked again, keep-alives, host checks). */
const TEND_MS = 250;
/** Hosts of idle executors are asked whether they live this often. */
const HEALTH_MS = 1_000;
const HEALTH_TIMEOUT_MS = 3_000;

let defaultModule: TaskModule | undefined;

/** Sets the module services come from when `Runner.open` names none (`paglets run` sets its script's). */
export function setDefaultTaskModule(module: TaskModule | undefined): void {
  defaultModule = module;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0) {
    throw new PagletError(
      "invalid_request",
      `Runner option '${name}' must be an integer >= 0: current value is ${v}`,
    );
  }
  return v;
}

/** A named set of executors (leased cores) and the tasks sent to them. Close it to free the cores. */
export class Runner implements AsyncDisposable {
  readonly name: string;
  readonly #http: RunnerHttp;
  readonly #module: TaskModule | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #waiting = new Set<ExecutorChannel>();
  readonly #options: RunnerOptions;
  readonly #idleTimeoutMs: number;
  /** Hosts found gone: a replacement executor does not go there. */
  readonly #deadHosts = new Set<string>();
  /** New executors being taken after every one was lost; close() waits for them to dispose them. */
  #replacing: Promise<void> | undefined;
  #checkedAt = 0;
  #nextTask = 0;
  #timer: Timer | undefined;
  #closed: Promise<void> | undefined;
  /** Executors being created now (see close). */
  readonly #creating = new Set<Promise<ExecutorChannel>>();
  readonly #unregisterInterrupt: () => void;

  private constructor(
    name: string,
    http: RunnerHttp,
    module: TaskModule | undefined,
    options: RunnerOptions,
    idleTimeoutMs: number,
  ) {
    this.name = name;
    this.#http = http;
    this.#module = module;
    this.#options = options;
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#dispatcher = new Dispatcher(http, module?.ref);
    // Ctrl-C of the script (agents/interruption.ts) releases the executors' cores before it ends.
    this.#unregisterInterrupt = onInterrupt(() => this.close());
    this.#dispatcher.onLeaseLost = (channel) => this.#waiting.add(channel);
    this.#dispatcher.onLost = (channel, error) => {
      this.#waiting.delete(channel);
      if (error.code !== "remote_code_disabled") return;
      // A host that refuses the module gets no replacement executor, and this one's core is freed
      // now rather than after its idle timeout.
      this.#deadHosts.add(channel.hostUrl);
      void this.#http.request(channel.hostUrl, "DELETE", `/v1/agents/${encodeURIComponent(channel.id)}`)
        .catch(() => {});
    };
    this.#dispatcher.onAllLost = (error) => {
      if (this.#replacing || this.#closed) return;
      this.#replacing = this.#replace(error).finally(() => this.#replacing = undefined);
    };
  }

  /** Opens a Runner: one executor per leased core, on the entry host and the peers chosen. */
  static async open(name: string, options: RunnerOptions = {}): Promise<Runner> {
    if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
      throw new PagletError(
        "invalid_request",
        `Cannot open a Runner as its name must be 1-64 letters, digits, '.', '_' or '-': current value is '${name}'`,
      );
    }
    // In a script run by `paglets run`, the entry host is the one the script was given.
    const entry = options.entry ?? await connect().then((mesh) => mesh.entry, () => undefined);
    const http = new RunnerHttp({ ...options, entry });
    const hosts = chooseHosts(await http.hosts(), options, http.entry);
    const count = positive("executors", options.executors, coresOf(hosts));
    const idleTimeoutMs = positive("idleTimeoutMs", options.idleTimeoutMs, 60_000);
    // Ctrl-C of the script (agents/interruption.ts), before or while the hosts were asked: it starts
    // no new work while its run ends. (Once the Runner exists, an interrupt closes it.)
    if (interrupted.aborted) {
      throw new PagletError("interrupted", `The script was interrupted: it opens no Runner ('${name}')`);
    }
    const runner = new Runner(name, http, options.module ?? defaultModule, options, idleTimeoutMs);
    try {
      await runner.#start(
        hosts,
        Math.max(1, count),
        positive("openTimeoutMs", options.openTimeoutMs, 60_000),
      );
    } catch (err) {
      await runner.close();
      throw err;
    }
    return runner;
  }

  async #start(hosts: RunnerHost[], count: number, openTimeoutMs: number): Promise<void> {
    const channels = await this.#createExecutors(spread(hosts, count));
    // Executors still waiting for a core ask again now and then; idle ones say the Runner lives;
    // hosts of idle executors are checked, so a host that died meanwhile is not sent work.
    this.#timer = every(TEND_MS, () => {
      void this.#tend();
      void this.#checkHosts();
    }, { ref: false });
    if (channels.some((c) => c.leased)) return;
    const deadline = Date.now() + openTimeoutMs;
    while (!channels.some((c) => c.leased)) {
      if (Date.now() > deadline) {
        throw new PagletError(
          "timeout",
          `Runner '${this.name}' got no core within ${openTimeoutMs} ms: every core of its hosts is leased (see 'paglets jobs queue')`,
        );
      }
      await sleep(50);
    }
  }

  /**
   * Creates an executor on each of `placed` and asks each for its core. A host that fails now is
   * left out (the Runner goes on with the executors it could create); none at all throws.
   */
  async #createExecutors(placed: RunnerHost[]): Promise<ExecutorChannel[]> {
    const created = await Promise.allSettled(placed.map(async (host) => {
      // Known to close() while under way: an executor it creates is disposed with the others.
      const creating = (async () => {
        const { id } = await this.#http.request<{ id: string }>(host.url, "POST", "/v1/agents", {
          type: EXECUTOR_TYPE,
          state: { runner: this.name, homeHost: this.#http.entry, idleTimeoutMs: this.#idleTimeoutMs },
        });
        const channel = new ExecutorChannel(id, host.url, host.name);
        this.#dispatcher.channels.push(channel);
        return channel;
      })();
      this.#creating.add(creating);
      const channel = await creating.finally(() => this.#creating.delete(creating));
      // Each asks for its core as soon as it exists, not once every executor does.
      const leased = await this.#dispatcher.acquire(channel).catch(() => false);
      if (!leased) this.#waiting.add(channel);
      return channel;
    }));
    const channels = created.flatMap((c) => c.status === "fulfilled" ? [c.value] : []);
    if (channels.length === 0) throw (created[0] as PromiseRejectedResult).reason;
    return channels;
  }

  /**
   * Every executor was lost: the Runner takes new ones on the online hosts of the mesh with its
   * tags (as many as it had, at most one per core there). Its tasks wait in the queue meanwhile;
   * when no host can take one, they reject with `executor_lost`.
   */
  async #replace(lost: PagletError): Promise<void> {
    try {
      const hosts = chooseHosts(await this.#http.hosts(), { tags: this.#options.tags }, this.#http.entry)
        .filter((h) => !this.#deadHosts.has(h.url));
      if (hosts.length === 0) throw new PagletError("host_not_found", "no other online host");
      const wanted = this.#options.executors ?? coresOf(hosts);
      await this.#createExecutors(spread(hosts, Math.max(1, Math.min(wanted, coresOf(hosts)))));
    } catch (err) {
      if (this.#closed) return;
      this.#dispatcher.close(
        new PagletError(
          "executor_lost",
          `Every executor of Runner '${this.name}' was lost (last: ${lost.message}) and no other host ` +
            `took one: ${err instanceof Error ? err.message : err}`,
        ),
      );
    }
  }

  #tending = false;

  async #tend(): Promise<void> {
    if (this.#tending || this.#closed) return;
    this.#tending = true;
    try {
      const now = Date.now();
      await Promise.all(
        this.#dispatcher.channels.filter((c) => c.alive).map(async (c) => {
          try {
            if (this.#waiting.has(c)) {
              if (await this.#dispatcher.acquire(c)) this.#waiting.delete(c);
            } else if (c.inFlight === 0 && now - c.lastContact > this.#idleTimeoutMs / 4) {
              const reply = await this.#http.send<AcquireReply>(c.hostUrl, c.id, "runner.ping", {}, 10_000);
              c.lastContact = now;
              if (!reply.leased) {
                // Its lease ended while it idled (expired, host restarted): it asks again.
                c.leased = false;
                this.#waiting.add(c);
              }
            }
          } catch (err) {
            // An executor whose agent is gone (its host restarted, it ended itself) is lost; a
            // host that does not answer is found out by checkHosts or the next batch sent there.
            const error = PagletError.from(err);
            if (error.code === "agent_not_found") this.#dispatcher.lose(c, error);
          }
        }),
      );
    } finally {
      this.#tending = false;
    }
  }

  #checking = false;

  /**
   * Asks the hosts whose executors are all idle whether they live (`/v1/health`, at most once a
   * second each): a host that is gone loses its executors now, not when the next batch goes there.
   */
  async #checkHosts(): Promise<void> {
    if (this.#checking || this.#closed || Date.now() - this.#checkedAt < HEALTH_MS) return;
    this.#checking = true;
    this.#checkedAt = Date.now();
    try {
      const byHost = Map.groupBy(this.#dispatcher.channels.filter((c) => c.alive), (c) => c.hostUrl);
      await Promise.all([...byHost].map(async ([url, channels]) => {
        // A busy executor's batch says soon enough whether its host lives.
        if (channels.some((c) => c.inFlight > 0)) return;
        try {
          await this.#http.request(url, "GET", "/v1/health", undefined, HEALTH_TIMEOUT_MS);
        } catch (err) {
          const error = PagletError.from(err);
          if (error.code !== "host_unreachable" && error.code !== "timeout") return;
          this.#deadHosts.add(url);
          for (const c of channels) this.#dispatcher.lose(c, error);
        }
      }));
    } finally {
      this.#checking = false;
    }
  }

  /** Executors holding a core now. */
  get executors(): { id: string; host: string; leased: boolean; tasksRun: number }[] {
    return this.#dispatcher.channels.filter((c) => c.alive).map((c) => ({
      id: c.id,
      host: c.hostName,
      leased: c.leased,
      tasksRun: c.tasksRun,
    }));
  }

  /** Tasks not settled yet. */
  get pending(): number {
    return this.#dispatcher.pending;
  }

  /**
   * A service of `fn`, an exported function of the Runner's module: each call returns a future.
   * A function that is not exported is refused with `not_exported`.
   */
  service<F extends (...args: never[]) => unknown>(fn: F, options: ServiceOptions = {}): Service<F> {
    if (!this.#module) {
      throw new PagletError(
        "not_exported",
        "Cannot make a Runner service without a module: pass Runner.open(name, { module: taskModule(import.meta.url, self) }) " +
          "with `import * as self from` the file, or run the script with `paglets run`",
      );
    }
    const exportName = exportNameOf(this.#module, fn);
    const timeoutMs = positive("timeoutMs", options.timeoutMs, 0);
    const retries = positive("retries", options.retries, 3);
    const signal = options.signal;
    const live = new Set<RunnerFuture>();
    signal?.addEventListener("abort", () => {
      for (const f of [...live]) f.cancel("was cancelled by its service's AbortSignal");
    }, { once: true });
    return ((...args: unknown[]) => {
      const future = new RunnerFuture(++this.#nextTask, (f) => this.#dispatcher.cancel(f.id));
      if (signal?.aborted) {
        future.cancel("was cancelled by its service's AbortSignal");
        return future;
      }
      if (signal) {
        live.add(future);
        future.then(() => live.delete(future), () => live.delete(future));
      }
      const deps = futuresIn(args);
      const bad = nonPlainArgument(args, deps);
      if (bad) {
        future.reject(
          new PagletError(
            "invalid_request",
            `Cannot run task ${future.id} ('${exportName}') as its arguments are not plain data at ${bad} ` +
              "($ is the argument list): pass objects, arrays, strings, finite numbers, booleans, null, " +
              "bigint, Uint8Array, Date, Map, Set or futures",
          ),
        );
        return future;
      }
      const task: Task = {
        future,
        exportName,
        args,
        timeoutMs,
        retries,
        attempts: 0,
        state: "queued",
        deps,
        inline: false,
      };
      this.#dispatcher.submit(task);
      return future;
    }) as unknown as Service<F>;
  }

  /** The values of the futures, in their order; rejects with the first failure. */
  get<T>(futures: RunnerFuture<T>): Promise<T>;
  get<T>(futures: readonly RunnerFuture<T>[]): Promise<T[]>;
  get<T>(futures: RunnerFuture<T> | readonly RunnerFuture<T>[]): Promise<T | T[]> {
    return futures instanceof RunnerFuture ? futures.promise : Promise.all(futures.map((f) => f.promise));
  }

  /**
   * The futures as they settle, in completion order. Each comes as a {@linkcode Settled} record
   * (a future itself would be awaited by `for await`); a failed task is yielded with `ok: false`.
   */
  async *select<T>(futures: Iterable<RunnerFuture<T>>): AsyncGenerator<Settled<T>> {
    const all = [...futures];
    const done: Settled<T>[] = [];
    let wake: (() => void) | undefined;
    all.forEach((future, index) => {
      future.promise.then(
        (value) => {
          done.push({ future, index, ok: true, value });
          wake?.();
        },
        (error) => {
          done.push({ future, index, ok: false, error });
          wake?.();
        },
      );
    });
    for (let yielded = 0; yielded < all.length; yielded++) {
      while (done.length === 0) await new Promise<void>((resolve) => wake = resolve);
      wake = undefined;
      yield done.shift()!;
    }
  }

  /** Cancels what is pending and releases every executor's core. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#unregisterInterrupt();
      cancel(this.#timer);
      this.#dispatcher.close(new PagletError("task_cancelled", `Runner '${this.name}' was closed`));
      // Executors still being created are disposed with the others.
      await this.#replacing;
      await Promise.allSettled([...this.#creating]);
      await Promise.all(
        this.#dispatcher.channels.filter((c) => c.alive).map((c) =>
          this.#http.request(c.hostUrl, "DELETE", `/v1/agents/${encodeURIComponent(c.id)}`).catch(() => {})
        ),
      );
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

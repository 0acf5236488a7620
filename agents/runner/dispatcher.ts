/**
 * The client side of a Runner: tasks wait in a queue and go to leased executors in batches.
 *
 * Batches are sized from what a function's tasks cost (see batch_size.ts). Each executor has up to
 * `MAX_IN_FLIGHT` batches under way: the next one waits in its mailbox while one runs.
 *
 * A task whose arguments hold futures not settled yet goes to the executor that computes them when
 * they are all on one executor (it resolves them there, from results it kept), else it waits for
 * them and gets their values. A lost executor (host gone, agent gone, lease lost) hands its tasks
 * back to the queue; each task may be re-run `retries` times. A task's own error is final.
 *
 * @module
 */
import { PagletError } from "../errors.ts";
import { encodeBatch } from "./batch_wire.ts";
import { type AcquireReply, type BatchMessage, type BatchReply, batchTag } from "./executor.ts";
import { type RunnerFuture, TaskError } from "./future.ts";
import type { RunnerHttp } from "./http.ts";
import { batchLimit, MAX_IN_FLIGHT } from "./batch_size.ts";
import type { CodeRef } from "./code_ref.ts";
import { TaskQueue } from "./task_queue.ts";
import { ExecutorChannel, type Task } from "./task.ts";

/** How long a batch message may take before its executor counts as lost (no task timeout set). */
const BATCH_MESSAGE_MS = 3_600_000;

export class Dispatcher {
  readonly channels: ExecutorChannel[] = [];
  readonly #http: RunnerHttp;
  /** The module of every service (tasks exist only once a module is set). */
  readonly #code: CodeRef | undefined;
  readonly #tasks = new Map<number, Task>();
  readonly #ready = new TaskQueue<Task>("queued");
  readonly #blocked = new Set<Task>();
  #pumpQueued = false;
  #closed = false;

  constructor(http: RunnerHttp, code: CodeRef | undefined) {
    this.#http = http;
    this.#code = code;
  }

  /** Tasks not settled yet. */
  get pending(): number {
    return this.#tasks.size;
  }

  submit(task: Task): void {
    if (this.#closed) {
      task.future.reject(new PagletError("task_cancelled", `Task ${task.future.id}: the Runner is closed`));
      return;
    }
    this.#tasks.set(task.future.id, task);
    this.#place(task);
    this.#schedulePump();
  }

  /**
   * The future was cancelled: drop the task wherever it waits. A task sent to an executor is
   * stopped there: its batch's compute step is ended (its worker terminated) or, not started yet,
   * refused when it starts; the batch's other tasks come back to the queue.
   */
  cancel(id: number): void {
    const task = this.#tasks.get(id);
    if (!task) return;
    const { executor, seq } = task;
    const sent = task.state === "running";
    this.#finish(task);
    if (sent && executor?.alive && executor.leaseId && seq !== undefined) {
      void this.#http.request(executor.hostUrl, "POST", "/v1/services/compute-slots/abort-step", {
        leaseId: executor.leaseId,
        agentId: executor.id,
        tag: batchTag(seq),
      }).catch(() => {/* the executor or its host is gone: its batch ends with it */});
    }
  }

  /** Every unsettled task rejects with `error`; no more batches go out. */
  close(error: PagletError): void {
    this.#closed = true;
    for (const task of [...this.#tasks.values()]) {
      task.future.reject(error);
      this.#finish(task);
    }
  }

  /** An executor is ready (again): send it work. */
  leased(channel: ExecutorChannel): void {
    channel.leased = true;
    this.#schedulePump();
  }

  // --- placement -------------------------------------------------------------------------------

  /** Queues a task, pins it to the executor computing its arguments, or holds it until they settle. */
  #place(task: Task, first = false): void {
    for (const dep of task.deps) {
      if (dep.status === "rejected") {
        const cause = dep.error instanceof Error ? dep.error.message : String(dep.error);
        task.future.reject(
          new PagletError(
            "task_failed",
            `Task ${task.future.id} did not run: its argument ${dep.id} failed: ${cause}`,
          ),
        );
        this.#finish(task);
        return;
      }
    }
    const pending = task.deps.filter((d) => d.status === "pending");
    if (pending.length === 0) {
      task.state = "queued";
      if (first) this.#ready.unshift(task);
      else this.#ready.push(task);
      return;
    }
    const target = this.#pinTarget(task, pending);
    if (target) {
      task.state = "pinned";
      task.executor = target;
      target.pinned.push(task);
      return;
    }
    task.state = "blocked";
    if (this.#blocked.has(task)) return;
    this.#blocked.add(task);
    for (const dep of pending) dep.then(() => this.#unblock(task), () => this.#unblock(task));
  }

  /** The one live executor computing every unsettled argument of `task` (sent or pinned there). */
  #pinTarget(task: Task, pending: RunnerFuture[]): ExecutorChannel | undefined {
    if (task.inline) return undefined;
    let target: ExecutorChannel | undefined;
    for (const dep of pending) {
      const producer = this.#tasks.get(dep.id);
      if (!producer || (producer.state !== "running" && producer.state !== "pinned")) return undefined;
      if (!producer.executor?.alive || (target && producer.executor !== target)) return undefined;
      target = producer.executor;
    }
    return target;
  }

  #unblock(task: Task): void {
    if (!this.#blocked.has(task) || task.deps.some((d) => d.status === "pending") && !this.#pinnable(task)) {
      return;
    }
    this.#blocked.delete(task);
    this.#place(task);
    this.#schedulePump();
  }

  #pinnable(task: Task): boolean {
    return this.#pinTarget(task, task.deps.filter((d) => d.status === "pending")) !== undefined;
  }

  #finish(task: Task): void {
    task.state = "done";
    this.#tasks.delete(task.future.id);
    this.#blocked.delete(task);
  }

  // --- batches ---------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    // Coalesces a loop of calls into one batch: the pump runs once the caller's turn ends.
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#closed) return;
    // Blocked tasks may now be pinnable: their arguments' tasks were sent meanwhile.
    for (const task of [...this.#blocked]) {
      if (this.#pinnable(task)) {
        this.#blocked.delete(task);
        this.#place(task);
      }
    }
    const ready = this.channels.filter((c) => c.alive && c.leased);
    let progress = true;
    while (progress) {
      progress = false;
      for (const channel of ready) {
        if (channel.inFlight >= MAX_IN_FLIGHT) continue;
        const batch = this.#takeBatch(channel, ready.length);
        if (batch.length === 0) continue;
        progress = true;
        void this.#send(channel, batch);
      }
    }
  }

  #takeBatch(channel: ExecutorChannel, executors: number): Task[] {
    const head = channel.pinned.peek() ?? this.#ready.peek();
    if (!head) return [];
    // What a task of this function cost so far; a function not measured yet goes one at a time.
    const cost = this.#cost.get(head.exportName);
    const limit = cost === undefined ? 1 : batchLimit(
      Math.max(cost, 1e-4),
      this.#ready.length + channel.pinned.length,
      executors,
    );
    const batch: Task[] = [];
    const take = (source: TaskQueue<Task>) => {
      for (let next = source.peek(); next && batch.length < limit; next = source.peek()) {
        // A task with a timeout runs alone: ending it must not end others.
        if (next.timeoutMs > 0 && batch.length > 0) return;
        batch.push(source.shift()!);
        if (next.timeoutMs > 0) return;
      }
    };
    take(channel.pinned);
    if (batch.length === 0 || batch[batch.length - 1].timeoutMs === 0) take(this.#ready);
    return batch;
  }

  /** The batch as it travels; an argument's future computed on `channel` goes as a reference. */
  #wire(batch: Task[], channel: ExecutorChannel): BatchMessage {
    return encodeBatch(batch, this.#code!, (id) => {
      const producer = this.#tasks.get(id);
      return (producer?.executor ?? this.#doneOn.get(id)) === channel;
    });
  }

  /** Milliseconds per task by function (export name), as the executors measured them. */
  readonly #cost = new Map<string, number>();

  /** Where settled tasks ran (their results are kept there for a while). */
  readonly #doneOn = new Map<number, ExecutorChannel>();

  async #send(channel: ExecutorChannel, batch: Task[]): Promise<void> {
    channel.inFlight++;
    const seq = ++this.#nextSeq;
    for (const task of batch) {
      task.state = "running";
      task.seq = seq;
      task.executor = channel;
      task.attempts++;
      channel.running.add(task);
    }
    const timeoutMs = batch.length === 1 ? batch[0].timeoutMs : 0;
    let reply: BatchReply | undefined;
    let lost: PagletError | undefined;
    try {
      const message = this.#wire(batch, channel);
      reply = await this.#http.send<BatchReply>(
        channel.hostUrl,
        channel.id,
        "runner.batch",
        message as unknown as Record<string, unknown>,
        timeoutMs ? timeoutMs + 60_000 : BATCH_MESSAGE_MS,
      );
      channel.lastContact = Date.now();
    } catch (err) {
      lost = PagletError.from(err);
    } finally {
      channel.inFlight--;
      for (const task of batch) channel.running.delete(task);
    }
    if (lost) {
      if (LOST_CODES.has(lost.code)) this.#lose(channel, batch, lost);
      else for (const task of batch) this.#fail(task, lost);
    } else if (reply) {
      this.#settle(channel, batch, reply);
    }
    this.#schedulePump();
  }

  /** Numbers batches: a batch's compute step is tagged with it. */
  #nextSeq = 0;

  #settle(channel: ExecutorChannel, batch: Task[], reply: BatchReply): void {
    if (reply.refused) {
      // The executor's host runs no travelling code: not the tasks' fault, and no use sending it
      // more. Its tasks go to the other executors without paying a re-run.
      for (const task of batch) if (task.state !== "done") task.attempts--;
      this.#lose(channel, batch, new PagletError("remote_code_disabled", reply.refused));
      return;
    }
    if (reply.interrupted) {
      // A task of the batch was cancelled and its step ended: the others run again, a re-run
      // that is not theirs to pay for.
      for (const task of batch) if (task.state !== "done") task.attempts--;
      this.#requeue(batch, new PagletError("executor_lost", "the batch was interrupted"));
      return;
    }
    if (!reply.leased) {
      channel.leased = false;
      this.#requeue(
        batch,
        new PagletError("executor_lost", `executor on ${channel.hostName} lost its lease`),
      );
      this.onLeaseLost?.(channel);
      return;
    }
    if (!reply.values) {
      const reason = reply.reason ?? "the executor sent no results";
      for (const task of batch) this.#fail(task, new PagletError("task_failed", reason));
      return;
    }
    const name = batch[0].exportName;
    if (batch.every((t) => t.exportName === name)) {
      const ms = (reply.ms ?? 0) / batch.length;
      const before = this.#cost.get(name);
      this.#cost.set(name, before === undefined ? ms : 0.5 * before + 0.5 * ms);
    }
    channel.tasksRun += batch.length;
    const failures = new Map(reply.failures ?? []);
    const missing = new Set((reply.missing ?? []).map(([i]) => i));
    for (let i = 0; i < batch.length; i++) {
      const task = batch[i];
      if (task.state === "done") continue; // cancelled meanwhile
      const failure = failures.get(i);
      if (missing.has(i)) {
        // A result it refers to is no longer kept there: send the values instead.
        task.inline = true;
        task.attempts--;
        this.#requeue([task], new PagletError("executor_lost", "argument missing"));
      } else if (failure?.name === "TimeoutError") {
        this.#fail(
          task,
          new PagletError(
            "task_timeout",
            `Task ${task.future.id} on ${channel.hostName}: ${failure.message}`,
          ),
        );
      } else if (failure) {
        this.#fail(task, new TaskError(task.future.id, failure, channel.hostName, task.exportName));
      } else {
        this.#doneOn.set(task.future.id, channel);
        if (this.#doneOn.size > 100_000) this.#doneOn.delete(this.#doneOn.keys().next().value!);
        task.future.resolve(reply.values[i]);
        this.#finish(task);
      }
    }
  }

  #fail(task: Task, error: unknown): void {
    if (task.state === "done") return;
    task.future.reject(error);
    this.#finish(task);
  }

  /** The executor is gone: its tasks (sent or pinned there) go back to the queue. */
  #lose(channel: ExecutorChannel, batch: Task[], error: PagletError): void {
    if (channel.alive) {
      channel.alive = false;
      channel.leased = false;
      // Removed: the Runner lists and tends live executors only.
      const at = this.channels.indexOf(channel);
      if (at >= 0) this.channels.splice(at, 1);
      this.onLost?.(channel, error);
    }
    const orphans = [...batch, ...channel.pinned.drain()];
    this.#requeue(
      orphans,
      new PagletError("executor_lost", `executor on ${channel.hostName} lost: ${error.message}`),
    );
    if (!this.channels.some((c) => c.alive)) {
      const all = new PagletError(
        "executor_lost",
        `Every executor of the Runner was lost; last: ${error.message}`,
      );
      if (this.onAllLost) this.onAllLost(all);
      else this.close(all);
    }
  }

  /** The executor is gone (found out between batches): it gets no more work. */
  lose(channel: ExecutorChannel, error: PagletError): void {
    if (!channel.alive) return;
    this.#lose(channel, [], error);
    this.#schedulePump();
  }

  #requeue(tasks: Task[], error: PagletError): void {
    for (const task of tasks) {
      if (task.state === "done") continue;
      if (task.attempts > task.retries) {
        this.#fail(
          task,
          new PagletError(
            "executor_lost",
            `Task ${task.future.id} gave up after ${task.attempts} attempts: ${error.message}`,
          ),
        );
        continue;
      }
      task.executor = undefined;
      // A re-run goes ahead of new work: it is the oldest.
      this.#place(task, true);
    }
  }

  /** Called when an executor is lost for good (host or agent gone). */
  onLost?: (channel: ExecutorChannel, error: PagletError) => void;
  /** Called when the last live executor is lost (instead of failing every task). */
  onAllLost?: (error: PagletError) => void;
  /** Called when an executor lost its lease but lives (it may get one again). */
  onLeaseLost?: (channel: ExecutorChannel) => void;

  /** Asks an executor for its lease; true once it holds one. */
  async acquire(channel: ExecutorChannel): Promise<boolean> {
    const reply = await this.#http.send<AcquireReply>(
      channel.hostUrl,
      channel.id,
      "runner.acquire",
      {},
      30_000,
    );
    channel.lastContact = Date.now();
    if (reply.leased) {
      channel.leaseId = reply.leaseId ?? "";
      this.leased(channel);
    }
    return reply.leased;
  }
}

/** Errors that mean the executor (its host, its agent, its worker) is gone, not the task's fault. */
const LOST_CODES = new Set([
  "host_unreachable",
  "agent_not_found",
  "agent_crashed",
  "worker_lost",
  "draining",
  "timeout",
  "agent_moving",
]);

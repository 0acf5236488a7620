/**
 * The source side of movement: dispatch, clone and retract.
 *
 * A dispatch is a handoff. Preflight first (nothing has happened to the agent if the target
 * would refuse it); then `onDispatching` runs and the agent leaves its worker; the source writes
 * the agent as `moving` together with a pending ledger row; sends with retries under one
 * transfer id; and only after the target's acknowledgement deletes its copy and records where
 * the agent went. If the target refuses, the agent comes back here. If the target cannot be
 * reached to confirm either way, the agent stays `moving` until a later answer settles it —
 * never two copies, never none.
 */
import { expired, outcomeOf, StillQueued, timeLeft, tooLate, type Waiting } from "../kernel/mailbox.ts";
import { PagletError } from "../../agents/errors.ts";
import type { AgentRef } from "../../agents/context.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import type { LiveAgent } from "../kernel/live_agent.ts";
import { stoppedByShutdown } from "../kernel/worker_pool.ts";
import { normalizeUrl } from "../client.ts";
import { isHttpUrl } from "../options.ts";
import type { Host } from "../host.ts";
import { newAgentId, randomToken } from "../kernel/ids.ts";
import type { AgentRecord, HostAddress } from "../storage/agent_store.ts";
import type { RegisteredFile, RegisteredFiles } from "../storage/files/registered_files.ts";
import type { ArrivalMode, QueuedEntry, TransferEnvelope, TransferKind } from "./envelope.ts";
import type { TransferReceiver } from "./receiver.ts";
import type { TransferLedger, TransferRow } from "./transfer_ledger.ts";
import type { SendOutcome, TransferSender } from "./transfer_sender.ts";
import { fault } from "./faults.ts";
import { DepartureResolver } from "./departure_resolver.ts";
import { immediate } from "../immediate.ts";

/** Options of {@link TransferDispatcher.dispatch}. */
export interface DispatchOptions {
  /** The agent itself asks (from a handler or run()): its mailbox is not waited for. @default false */
  fromSelf?: boolean;
  /** @default "dispatch" */
  reason?: "dispatch" | "retract";
  /** @default "active" */
  arrivalMode?: ArrivalMode;
}

/** A new transfer id: `tr_` + 24 random base32 characters. */
export function newTransferId(): string {
  return `tr_${randomToken(24)}`;
}

export class TransferDispatcher {
  readonly #host: Host;
  readonly #ledger: TransferLedger;
  readonly #files: RegisteredFiles;
  readonly #receiver: TransferReceiver;
  readonly #sender: TransferSender;
  /** Transfers a call in this process is still driving (the resolver leaves them alone). */
  readonly #driving = new Set<string>();
  readonly #resolver: DepartureResolver;

  constructor(
    host: Host,
    ledger: TransferLedger,
    files: RegisteredFiles,
    receiver: TransferReceiver,
    sender: TransferSender,
  ) {
    this.#host = host;
    this.#ledger = ledger;
    this.#files = files;
    this.#receiver = receiver;
    this.#sender = sender;
    this.#resolver = new DepartureResolver({
      host,
      ledger,
      sender,
      driving: this.#driving,
      settled: (row, verdict, target) => this.#settled(row, verdict, target),
    });
  }

  /** A host name or URL → base URL. Names need the mesh (`host.remote`), except this host's own. */
  resolveTarget(target: unknown): string {
    if (typeof target !== "string" || target.trim() === "") {
      throw new PagletError("invalid_request", "A target host (name or URL) is required");
    }
    const t = target.trim();
    if (t === this.#host.name) return this.#host.url;
    // A URL with a scheme, or `host:port` (an IPv6 address in brackets, a trailing slash allowed).
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) || /^(\[[0-9a-f:.]+\]|[^\s/:[\]]+):\d+\/?$/i.test(t);
    if (isUrl && !isHttpUrl(normalizeUrl(t))) {
      throw new PagletError(
        "invalid_request",
        `A target host is a name of the mesh or an http: or https: URL: got '${t}'`,
      );
    }
    // Anything else is a name, looked up as it is (a path such as '../x' names no host).
    const viaMesh = isUrl || !/[/:]/.test(t) ? this.#host.remote?.resolve(t) : null;
    if (viaMesh) return normalizeUrl(viaMesh);
    if (isUrl) return normalizeUrl(t);
    throw new PagletError(
      "host_not_found",
      `Unknown host '${t}'${
        this.#host.remote ? " (not a member of this mesh)" : " (this host is not in a mesh: use a URL)"
      }`,
    );
  }

  /**
   * {@link resolveTarget}, with patience for a name in a host's first seconds: a host that has just
   * (re)started learns its members' names from their first rounds of gossip, and a move by name
   * right after a restart would otherwise fail `host_not_found` for about a second.
   */
  async #target(target: unknown): Promise<string> {
    try {
      return this.resolveTarget(target);
    } catch (err) {
      const remote = this.#host.remote;
      const learningUntil = this.#host.startedAt + Math.max(5000, 5 * this.#host.options.gossipIntervalMs);
      if (!(err instanceof PagletError && err.code === "host_not_found") || !remote) throw err;
      if (Date.now() >= learningUntil) throw err;
      await remote.waitForHost(String(target).trim(), learningUntil - Date.now());
      return this.resolveTarget(target);
    }
  }

  isSelf(url: string): boolean {
    return normalizeUrl(url) === this.#host.url;
  }

  /**
   * What a move's checks need of agent `id` (its type and meta) without starting it: the live agent,
   * or the record of an inactive one, which starts only once the target said yes (a move refused
   * or a dispatch to its own host leaves it asleep, with its wake-up and held messages).
   */
  async #beforeMove(id: string): Promise<{ type: string; meta: Record<string, unknown> }> {
    const rt = this.#host.runtime;
    await rt.settled(id);
    const live = rt.find(id);
    if (live) return live;
    const record = await this.#host.store.get(id);
    if (record?.status === "inactive") return { type: record.type, meta: record.meta };
    return await this.#liveAgent(id);
  }

  /** The live agent `id`, activating it if it is inactive here. */
  async #liveAgent(id: string): Promise<LiveAgent> {
    const rt = this.#host.runtime;
    await rt.settled(id);
    const live = rt.find(id);
    if (live) return live;
    const record = await this.#host.store.get(id);
    if (record?.status === "moving") throw rt.movingError(id);
    // Activates an inactive agent, and waits for one being started: a paglet that dispatches
    // itself from run() right after its creation can be quicker than the kernel's bookkeeping.
    return await this.#activate(id, "dispatch");
  }

  /** rt.activate; an agent that is not here is named with where it moved, when it did. */
  async #activate(id: string, reason: string): Promise<LiveAgent> {
    try {
      return await this.#host.runtime.activate(id, reason);
    } catch (err) {
      if (!(err instanceof PagletError && err.code === "agent_not_found")) throw err;
      const moved = await this.#host.store.movedTo(id);
      const movedTo = moved && (this.#host.remote?.locate(moved) ?? moved.url);
      throw new PagletError(
        "agent_not_found",
        `No agent ${id} on this host${movedTo ? ` (it moved to ${movedTo})` : ""}`,
        movedTo ? { movedTo } : undefined,
      );
    }
  }

  #event(kind: LifecycleEvent["kind"], extra: Partial<LifecycleEvent>): LifecycleEvent {
    return { kind, at: Date.now(), hostName: this.#host.name, ...extra };
  }

  #envelope(
    kind: TransferKind,
    transferId: string,
    agent: TransferEnvelope["agent"],
    files: RegisteredFile[],
    arrivalMode: ArrivalMode,
    cloneOf?: string,
    queued?: QueuedEntry[],
  ): TransferEnvelope {
    return {
      transferId,
      kind,
      agent,
      source: { name: this.#host.name, url: this.#host.url },
      meshVersion: this.#host.options.meshVersion,
      arrivalMode,
      cloneOf,
      files: files.map((f) => ({ name: f.name, mode: f.mode, size: f.size, sha256: f.sha256 })),
      queued: queued?.length ? queued : undefined,
      sentAt: Date.now(),
    };
  }

  /** Moves agent `id` to `target`; resolves once the target holds it. */
  async dispatch(id: string, target: string, options: DispatchOptions = {}): Promise<AgentRef> {
    const reason = options.reason ?? "dispatch";
    const url = await this.#target(target);
    const before = await this.#beforeMove(id);
    if (this.isSelf(url)) return { id, host: this.#host.url };
    const preflight = async (of: { type: string; meta: Record<string, unknown> }) => {
      const files = await this.#files.prepare(of.meta);
      const who = await this.#sender.preflight(url, {
        agentId: id,
        type: of.type,
        kind: reason,
        meshVersion: this.#host.options.meshVersion,
        // The stored state's size (current but for a checkpoint-durable agent's latest changes): a
        // state over the target's limit is refused before onDispatching runs; one that grows past it
        // in the hook is refused by the send, and the agent stays.
        stateSize: this.#host.store.stateSizeOf(id) ?? undefined,
        files: files.map((f) => ({ name: f.name, size: f.size })),
        ...codeOf(of.meta, this.#host.url),
      });
      return { files, target: { url, ...who } };
    };
    let { files, target: to } = await preflight(before);
    const agent = await this.#liveAgent(id);
    // An inactive agent was started just now: what its activation registered is asked about too,
    // before onDispatching runs.
    if (agent !== before) {
      const now = await this.#files.prepare(agent.meta);
      if (fileList(now) !== fileList(files)) ({ files, target: to } = await preflight(agent));
    }
    const rt = this.#host.runtime;
    // The policy of its last deactivation, kept if the agent stays here (a refused or failed move).
    const lastPolicy = (await this.#host.store.get(id))?.lastPolicy ?? null;
    const handoff = Promise.withResolvers<void>();
    void rt.hold(id, handoff.promise);
    let finishing: Promise<void> | null = null;
    try {
      const left = await rt.detach(
        id,
        this.#event("dispatching", { reason, source: this.#host.url, target: url }),
        options.fromSelf ?? false,
      );
      const { waiting, handled } = await this.#sortWaiting(id, left, options.fromSelf ?? false);
      const record: Omit<AgentRecord, "updatedAt"> = {
        id,
        type: left.agent.type,
        status: "moving",
        state: left.state,
        policy: null,
        lastPolicy,
        createdAt: left.agent.createdAt,
        meta: { ...left.agent.meta, files },
      };
      const transferId = newTransferId();
      try {
        await this.#ledger.beginDeparture(transferId, id, to, record, handled);
      } catch (err) {
        await this.#restore(null, record, waiting);
        throw err;
      }
      // What is stored for it now is what it has not handled: it travels along, and leaves this
      // store only with the record, once the target has both (or stays here if the move fails).
      const queued = (await this.#host.store.queued(id)).map((q) => ({
        message: q.message,
        oneway: q.oneway,
        queuedAt: q.queuedAt,
      }));
      const done = await this.#handOff(
        to,
        transferId,
        record,
        files,
        queued,
        waiting,
        reason,
        options.arrivalMode ?? "active",
      );
      finishing = done.finishing;
      return done.ref;
    } finally {
      // The local bookkeeping after the acknowledgement runs behind the hold: whoever asks for
      // this agent here meanwhile waits for it and then finds where it went.
      if (finishing) void finishing.finally(() => handoff.resolve());
      else handoff.resolve();
    }
  }

  async #handOff(
    to: HostAddress,
    transferId: string,
    record: Omit<AgentRecord, "updatedAt">,
    files: RegisteredFile[],
    queued: QueuedEntry[],
    waiting: Waiting[],
    reason: "dispatch" | "retract",
    arrivalMode: ArrivalMode,
  ): Promise<{ ref: AgentRef; finishing: Promise<void> }> {
    const id = record.id;
    const url = to.url;
    this.#driving.add(transferId);
    let finishing: Promise<void> | null = null;
    try {
      fault("exit-before-send");
      const envelope = this.#envelope(
        reason,
        transferId,
        { id, type: record.type, state: record.state, createdAt: record.createdAt, meta: record.meta },
        files,
        arrivalMode,
        undefined,
        queued,
      );
      const outcome = await this.#sender.send(url, envelope, files, to);
      if (outcome.kind === "acked") {
        // The agent is durable at the target: the move has happened. The source's cleanup does
        // not delay the caller (a failure there leaves the row pending for the resolver).
        finishing = this.#finish(transferId, id, record.type, to, files, reason).then(
          () => void this.#forward(url, id, waiting),
          (err) => {
            for (const w of waiting) w.reject(err);
            this.#host.events.emit("transfer-finish-failed", {
              agentId: id,
              data: { transferId },
              error: PagletError.from(err).message,
            });
            this.#resolver.soon(1000);
          },
        ).finally(() => this.#driving.delete(transferId));
        return { ref: { id, host: outcome.ack.host || url }, finishing };
      }
      if (outcome.kind === "refused") {
        await this.#restore(transferId, record, waiting);
        throw this.#failure(outcome, reason, id, url);
      }
      for (const w of waiting) {
        w.reject(
          new PagletError("agent_moving", `Agent ${id} is moving to ${url}; the move is not confirmed yet`),
        );
      }
      this.#resolver.soon();
      throw this.#failure(outcome, reason, id, url);
    } finally {
      if (!finishing) this.#driving.delete(transferId);
    }
  }

  /**
   * Sorts the messages that waited in the mailbox of an agent that left its worker. The stored ones
   * (`queuedSeq`) stay stored: they travel in the envelope, or are handed over again by the start
   * that restores the agent here, so they are neither forwarded nor put back in a mailbox; whoever
   * posted them is told they are still queued. The others go after the agent (`waiting`).
   * `handled`: the stored messages whose handlers ran here (handed to the worker and not back):
   * their effect is in the state the agent leaves with.
   */
  async #sortWaiting(
    id: string,
    left: { agent: LiveAgent; queued: Waiting[] },
    fromSelf: boolean,
  ): Promise<{ waiting: Waiting[]; handled: number[] }> {
    let all = left.queued;
    if (fromSelf) {
      // Messages handed to the worker behind the handler that dispatches come back `agent_left`
      // and wait in the mailbox again a few microtasks after the stop: one task later, they are
      // there. They were ahead of those drained already.
      await new Promise<void>((resolve) => immediate(resolve));
      all = [...left.agent.mailbox.drain(), ...all];
    }
    const waiting: Waiting[] = [];
    const stored = new Set<number>();
    for (const w of all) {
      const seq = w.delivery?.queuedSeq;
      if (seq === undefined) {
        waiting.push(w);
      } else {
        stored.add(seq);
        w.resolve(new StillQueued(w.message.id));
      }
    }
    const handed = left.agent.handedSeq;
    const handled = (await this.#host.store.queued(id))
      .filter((q) => q.seq <= handed && !stored.has(q.seq))
      .map((q) => q.seq);
    return { waiting, handled };
  }

  /** Resolves once no handoff of agent `id` is under way on this host. */
  async settled(id: string): Promise<void> {
    await this.#host.runtime.settled(id);
  }

  #failure(
    outcome: Exclude<SendOutcome, { kind: "acked" }>,
    reason: string,
    id: string,
    url: string,
  ): PagletError {
    const e = outcome.error;
    if (outcome.kind === "unconfirmed") {
      return new PagletError(
        "transfer_pending",
        `${reason} of ${id} to ${url} is not confirmed (${e.message}); the agent stays reserved here until ${url} answers`,
        e.details,
      );
    }
    return new PagletError(
      e.code === "host_unreachable" ? "transfer_failed" : e.code,
      `${reason} of ${id} to ${url} failed: ${e.message}; the agent stays on this host`,
      e.details,
    );
  }

  /** The target has the agent: local copy gone, move recorded, files of mode `move` deleted. */
  async #finish(
    transferId: string,
    id: string,
    type: string,
    to: HostAddress,
    files: RegisteredFile[],
    reason: string,
  ): Promise<void> {
    if (!await this.#ledger.finishDeparture(transferId, id, to)) return;
    await this.#files.deleteMoved(id, files);
    await this.#removeWorkDir(id);
    this.#host.events.emit(reason, { agentId: id, type, data: { target: to.url, transferId } });
  }

  async #removeWorkDir(id: string): Promise<void> {
    try {
      Deno.lstatSync(this.#host.workDirs.pathOf(id)); // most paglets never make one: skip the async remove
    } catch {
      return;
    }
    await this.#host.workDirs.remove(id);
  }

  /** The target does not have the agent: it lives on here (onActivation, reason `dispatch-failed`). */
  async #restore(
    transferId: string | null,
    record: Omit<AgentRecord, "updatedAt">,
    waiting: Waiting[],
  ): Promise<void> {
    const active = { ...record, status: "active" as const, updatedAt: Date.now() };
    if (transferId) await this.#ledger.failDeparture(transferId, active);
    try {
      const agent = await this.#host.runtime.start(
        active,
        this.#event("activation", { reason: "dispatch-failed" }),
      );
      for (const w of waiting) agent.mailbox.putBack(w);
      this.#host.events.emit("restore", {
        agentId: record.id,
        type: record.type,
        data: { reason: "dispatch-failed", transferId },
      });
    } catch (err) {
      if (stoppedByShutdown(err)) {
        // Stored as active above: the host's next start restores it.
        for (const w of waiting) w.reject(err);
        return;
      }
      const message = `restore after a failed dispatch failed: ${PagletError.from(err).message}`;
      await this.#host.store.put({
        ...active,
        status: "crashed",
        meta: { ...active.meta, crashError: message },
      });
      for (const w of waiting) w.reject(err);
      this.#host.events.emit("paglet-crashed", { agentId: record.id, type: record.type, error: message });
    }
  }

  /**
   * Messages that waited in the mailbox while the agent left go after it through the kernel's
   * router: with their id, priority, oneway flag and what is left of their reply timeout. One after
   * another, in their order: each is sent once the one before it is answered (accepted, for a
   * oneway one), so the target's mailbox takes them in the order they waited here.
   */
  async #forward(url: string, id: string, waiting: Waiting[]): Promise<void> {
    for (const w of waiting) {
      // One whose sender got `timeout` already is not sent after the agent.
      if (expired(w.delivery, performance.now())) {
        w.reject(tooLate(w.message));
        continue;
      }
      const oneway = w.delivery?.oneway;
      try {
        const r = await this.#host.router.route(id, w.message, {
          targetHost: url,
          oneway,
          timeoutMs: timeLeft(w.delivery),
        });
        w.resolve(outcomeOf(r));
      } catch (err) {
        w.reject(err);
      }
    }
  }

  /** Copies agent `id` to `target` (default: this host); resolves with the clone's reference. */
  async clone(id: string, target?: string | null): Promise<AgentRef> {
    const url = await this.#target(target ?? this.#host.url);
    const { type, state, meta } = await this.#snapshot(id);
    const files = await this.#files.prepare(meta);
    const cloneId = newAgentId();
    const cloneMeta: Record<string, unknown> = { ...meta, files };
    delete cloneMeta.crashError;
    delete cloneMeta.arrival;
    const transferId = newTransferId();
    const envelope = this.#envelope(
      "clone",
      transferId,
      { id: cloneId, type, state, createdAt: Date.now(), meta: cloneMeta },
      files,
      "active",
      id,
    );
    if (this.isSelf(url)) {
      await this.#receiver.receiveLocal(envelope, files.map((f) => f.path));
      this.#host.events.emit("clone", { agentId: id, type, data: { clone: cloneId, target: url } });
      return { id: cloneId, host: url };
    }
    const who = await this.#sender.preflight(url, {
      agentId: cloneId,
      type,
      kind: "clone",
      meshVersion: this.#host.options.meshVersion,
      stateSize: state.length,
      files: files.map((f) => ({ name: f.name, size: f.size })),
      ...codeOf(meta, this.#host.url),
    }, id);
    await this.#ledger.beginDeparture(transferId, cloneId, { url, ...who }, null);
    this.#driving.add(transferId);
    try {
      const outcome = await this.#sender.send(url, envelope, files, who);
      if (outcome.kind === "acked") {
        await this.#ledger.setStatus(transferId, "acknowledged");
        this.#host.events.emit("clone", {
          agentId: id,
          type,
          data: { clone: cloneId, target: url, transferId },
        });
        return { id: cloneId, host: outcome.ack.host || url };
      }
      if (outcome.kind === "refused") await this.#ledger.setStatus(transferId, "failed");
      else this.#resolver.soon();
      throw this.#failure(outcome, "clone", id, url);
    } finally {
      this.#driving.delete(transferId);
    }
  }

  async #snapshot(id: string): Promise<{ type: string; state: Uint8Array; meta: Record<string, unknown> }> {
    const rt = this.#host.runtime;
    await rt.settled(id);
    const live = rt.find(id);
    if (live) {
      return { type: live.type, state: await rt.snapshot(live), meta: live.meta };
    }
    const record = await this.#host.store.get(id);
    if (!record || record.status === "active") {
      // Being started (or durable as active and not running): take it from the running instance.
      const agent = await this.#activate(id, "clone");
      return { type: agent.type, state: await rt.snapshot(agent), meta: agent.meta };
    }
    if (record.status === "moving") throw rt.movingError(id);
    if (record.status !== "inactive") {
      throw new PagletError("agent_crashed", `Agent ${id} is ${record.status}`);
    }
    return { type: record.type, state: record.state, meta: record.meta };
  }

  /** Pulls agent `id` from host `from` to this host (the remote side runs a dispatch, reason `retract`). */
  async retract(id: string, from: string): Promise<AgentRef> {
    const url = await this.#target(from);
    if (this.isSelf(url)) {
      await this.#liveAgent(id);
      return { id, host: this.#host.url };
    }
    const ref = await this.#sender.client(url).request<AgentRef>(
      "POST",
      `/v1/agents/${encodeURIComponent(id)}/retract`,
      { target: this.#host.url },
      120_000,
    );
    await this.#host.runtime.settled(id);
    return { id: ref.id, host: ref.host };
  }

  // ---- settling unconfirmed departures ------------------------------------------------------

  /** Starts settling pending departures (at host start: after a crash); see DepartureResolver. */
  startResolver(): void {
    this.#resolver.start();
  }

  stop(): void {
    this.#resolver.stop();
  }

  /**
   * Acts on the target's final answer about a departure it had not confirmed (DepartureResolver).
   * The agent is held from now (after any handoff of it under way here) until this is done: the
   * agent coming back here meanwhile (sent straight home by its onArrival there) is taken only
   * after it, so neither the record and stored messages it arrives with nor its files and work dir
   * are what a late settling deletes.
   */
  async #settled(row: TransferRow, verdict: "stored" | "refused", target: HostAddress): Promise<void> {
    const rt = this.#host.runtime;
    const before = rt.settled(row.agentId);
    await rt.hold(
      row.agentId,
      before.then(() => verdict === "stored" ? this.#settledStored(row, target) : this.#settledRefused(row)),
    );
  }

  /** The target has the agent: the local copy goes, if this departure is what it is here. */
  async #settledStored(row: TransferRow, target: HostAddress): Promise<void> {
    const record = await this.#host.store.get(row.agentId);
    if (!await this.#ledger.finishDeparture(row.transferId, row.agentId, target) || !record) return;
    await this.#files.deleteMoved(row.agentId, record.meta.files as RegisteredFile[] ?? []);
    await this.#removeWorkDir(row.agentId);
    this.#host.events.emit("dispatch", {
      agentId: row.agentId,
      type: record.type,
      data: { target: target.url, transferId: row.transferId, recovered: true },
    });
  }

  /** The target never will have the agent: it lives on here. */
  async #settledRefused(row: TransferRow): Promise<void> {
    const record = await this.#host.store.get(row.agentId);
    if (record?.status === "moving") await this.#restore(row.transferId, record, []);
    else await this.#ledger.setStatus(row.transferId, "failed");
  }
}

/** What a preflight says of an agent's registered files, as one comparable string. */
function fileList(files: RegisteredFile[]): string {
  return files.map((f) => `${f.name}:${f.size}`).join("\n");
}

/** The travelling module an agent runs, for a preflight: the target fetches it from this host. */
function codeOf(meta: Record<string, unknown>, self: string): { code?: string; codeFrom?: string } {
  return typeof meta.code === "string" ? { code: meta.code, codeFrom: self } : {};
}

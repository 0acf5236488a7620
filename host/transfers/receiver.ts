/**
 * The target side of a transfer. It validates the envelope before reading any file, streams files
 * into a spool checking size and SHA-256, stores the agent and the ledger row in one transaction,
 * acknowledges, and only then starts the agent: files go into its work dir, `onArrival` (or
 * `onClone`) runs, then `run()`. A retry with a known transfer id gets the same acknowledgement.
 * A body that stops arriving fails its read (the route watches it, http/body.ts `streamedBody`):
 * the attempt then leaves nothing, as any failed one, and a retry under its id is taken in full.
 * A retry that comes while an older attempt of its transfer is still open takes over from one that
 * has stalled ({@link TransferReceiver.receive}).
 */
import { join } from "../../agents/paths.ts";
import { stoppedByShutdown } from "../kernel/worker_pool.ts";
import { waitedArrival } from "../kernel/waited_arrivals.ts";
import { immediate } from "../immediate.ts";
import { PagletError } from "../../agents/errors.ts";
import type { LifecycleEvent } from "../../agents/paglet.ts";
import { DEFAULT_POLICY } from "../../agents/policy.ts";
import type { Host } from "../host.ts";
import type { AgentRecord } from "../storage/agent_store.ts";
import { HashingFileWriter } from "../storage/files/checksum.ts";
import {
  type RegisteredFile,
  type RegisteredFiles,
  registeredFiles,
  validFileName,
} from "../storage/files/registered_files.ts";
import {
  ByteReader,
  type EnvelopeFile,
  readFileHeader,
  readTransferHead,
  type TransferEnvelope,
  type TransferKind,
} from "./envelope.ts";
import type { TransferLedger, TransferRow } from "./transfer_ledger.ts";
import { fault, spoolWrite } from "./faults.ts";
import { unknownTransferVerdict } from "./forgotten_transfers.ts";

/** A ledger row answering a source's question: this host's side of its transfer, an arrival. */
function inbound(row: TransferRow): TransferRow {
  if (row.direction !== "in") {
    throw new PagletError(
      "state_conflict",
      `Transfer ${row.transferId} is this host's own outgoing transfer`,
    );
  }
  return row;
}

/** What the target answers once the agent is durable here. */
export interface TransferAck {
  transferId: string;
  /** The agent's id on the target (the clone's id for a clone). */
  id: string;
  /** The target's URL. */
  host: string;
  status: "stored" | "arrived";
}

/**
 * A transfer this host is taking now (it has no ledger row yet), as `GET /v1/transfers/:id` shows
 * it: the source asks while its connection is quiet, to tell a slow target from a stalled one.
 */
export interface ArrivingTransfer {
  transferId: string;
  agentId: string;
  direction: "in";
  status: "receiving";
  /** The source's URL. */
  peer: string;
  /** Bytes of the transfer's files taken into the spool so far. */
  bytes: number;
  createdAt: number;
  /** When `bytes` last grew. */
  updatedAt: number;
}

/** What a source asks before it sends anything. */
export interface PreflightRequest {
  agentId: string;
  type: string;
  kind: TransferKind;
  meshVersion: string;
  /** Bytes of the state (an estimate is fine). */
  stateSize?: number;
  files: { name: string; size: number }[];
  /** Hash of the travelling module the agent runs; fetched from `codeFrom` before any state moves. */
  code?: string;
  codeFrom?: string;
}

/** Kept in the stored record's meta until the agent has been started here. */
interface ArrivalNote {
  transferId: string;
  kind: TransferKind;
  source: string;
  sourceName: string;
  arrivalMode: "active" | "inactive";
  cloneOf?: string;
}

const ONE_GIB = 1024 ** 3;

/**
 * Once a newer attempt of a transfer arrives, an older one still open is given up when a read of
 * its body has waited this long (a read waiting already counts its wait so far). A source sends a
 * newer attempt only after giving the older up and closing its connection, so an older attempt that
 * still waits for bytes is one whose sender is gone; this much quiet tells it from one whose last
 * bytes are still on their way, which is left to finish.
 */
export const SUPERSEDED_QUIET_MS = 1000;

/** Attempts of one transfer a newer one waits out before it gives up (each waits for the one before). */
const MAX_OLDER_ATTEMPTS = 16;

/** An attempt of a transfer being taken now. */
interface OpenAttempt {
  /** Settles once the attempt is stored or failed, and no longer in `#inflight`. */
  taking: Promise<TransferAck>;
  progress: ArrivingTransfer;
  /** Tells the attempt a newer one of its transfer arrived: its body gets {@link SUPERSEDED_QUIET_MS}. */
  supersede: () => void;
}

export class TransferReceiver {
  readonly #host: Host;
  readonly #ledger: TransferLedger;
  readonly #files: RegisteredFiles;
  readonly #spoolRoot: string;
  readonly #inflight = new Map<string, OpenAttempt>();

  constructor(host: Host, ledger: TransferLedger, files: RegisteredFiles) {
    this.#host = host;
    this.#ledger = ledger;
    this.#files = files;
    this.#spoolRoot = join(host.options.dataDir, "transfers");
  }

  /** Largest state (and envelope) a transfer may carry. */
  get maxEnvelopeBytes(): number {
    return Math.min(this.#host.options.artifactMaxSize ?? ONE_GIB, ONE_GIB);
  }

  /** Largest single file a transfer may carry; null = no limit. */
  get maxFileBytes(): number | null {
    return this.#host.options.artifactMaxSize;
  }

  /** Answers before the state is sent: would this host take the agent? Throws the reason if not. */
  async preflight(
    request: PreflightRequest,
  ): Promise<
    { ok: true; name: string; hostId: string; maxEnvelopeBytes: number; maxFileBytes: number | null }
  > {
    await this.#checkAcceptable(
      request.type,
      request.meshVersion,
      request.stateSize ?? 0,
      request.files,
      request.code,
    );
    await this.#checkCode(request.type, request.code, request.codeFrom);
    // A paglet coming back to a host that holds it moving (its departure unconfirmed, or expired):
    // the transfer itself settles that departure.
    await this.#checkNoConflict(request.agentId, "accept");
    return {
      ok: true,
      // Who answers: the source keeps it with the move, and later trusts only this host's answers.
      name: this.#host.name,
      hostId: this.#host.id,
      maxEnvelopeBytes: this.maxEnvelopeBytes,
      maxFileBytes: this.maxFileBytes,
    };
  }

  async #checkAcceptable(
    type: string,
    meshVersion: string,
    stateSize: number,
    files: { name: string; size: number }[],
    code: unknown,
  ): Promise<void> {
    if (code === undefined && !(await this.#host.pool.knownTypes()).includes(type)) {
      throw new PagletError(
        "unknown_agent_type",
        `Host ${this.#host.name} does not know the agent type '${type}'`,
      );
    }
    if (meshVersion !== this.#host.options.meshVersion) {
      throw new PagletError(
        "mesh_version_mismatch",
        `Host ${this.#host.name} runs mesh version '${this.#host.options.meshVersion}', the agent comes from '${meshVersion}'`,
      );
    }
    if (stateSize > this.maxEnvelopeBytes) {
      throw new PagletError(
        "payload_too_large",
        `State of ${stateSize} bytes exceeds the limit of ${this.maxEnvelopeBytes}`,
      );
    }
    const names = new Set<string>();
    for (const file of files) {
      validFileName(file.name);
      if (names.has(file.name)) {
        throw new PagletError("invalid_request", `File '${file.name}' is listed twice`);
      }
      names.add(file.name);
      if (!Number.isSafeInteger(file.size) || file.size < 0) {
        throw new PagletError("invalid_request", `File '${file.name}' has an invalid size`);
      }
      if (this.maxFileBytes !== null && file.size > this.maxFileBytes) {
        throw new PagletError(
          "payload_too_large",
          `File '${file.name}' of ${file.size} bytes exceeds the limit of ${this.maxFileBytes}`,
        );
      }
    }
  }

  /** Travelling code: in this host's workers (fetched from `from` if need be) and defining `type`. */
  async #checkCode(type: string, code: unknown, from: string | undefined): Promise<void> {
    if (code === undefined) return;
    const types = await this.#host.code.ensure(String(code), from);
    if (!types.includes(type)) {
      throw new PagletError("unknown_agent_type", `Module ${String(code)} defines no agent type '${type}'`);
    }
  }

  /**
   * Refuses an agent id that lives here. One recorded `moving` by an unsettled departure (pending or
   * expired) is the paglet coming back: `settle` settles that departure (its coming back proves the
   * move), `accept` lets it pass unsettled (a preflight: the transfer settles it), `refuse` refuses it.
   */
  async #checkNoConflict(agentId: string, moving: "settle" | "accept" | "refuse"): Promise<void> {
    const rt = this.#host.runtime;
    for (let round = 0; round < 2; round++) {
      if (rt.isLive(agentId)) throw conflict(agentId);
      // A settling of its departure under way ends first, its clean-up (files, work dir) included,
      // though the record is gone already.
      if (rt.isHeld(agentId)) {
        await rt.settled(agentId);
        continue;
      }
      const status = this.#host.store.statusOf(agentId);
      if (status === null) return;
      if (status !== "moving" || moving === "refuse") throw conflict(agentId);
      // Left before a crash and never confirmed: that it is back proves the target took it.
      const departure = this.#ledger.unsettledDepartureOf(agentId);
      if (!departure) throw conflict(agentId);
      if (moving === "accept") return;
      await this.#ledger.finishDeparture(departure.transferId, agentId, {
        url: departure.peer,
        name: departure.peerName,
      });
    }
    if (rt.isLive(agentId) || this.#host.store.statusOf(agentId) !== null) throw conflict(agentId);
  }

  /**
   * Handles `POST /v1/transfers`. `supersede` shortens the stall limit of `body` to
   * {@link SUPERSEDED_QUIET_MS} (the route passes `body` with that `sooner` limit): it is called
   * when a newer attempt of the same transfer arrives while this one is still open.
   *
   * A transfer id already stored gets its acknowledgement. One still being taken by an older
   * attempt: the older one is told to give up once a read of its body has waited
   * {@link SUPERSEDED_QUIET_MS} (its connection then ends after a 504 and what it spooled is removed),
   * and this attempt waits for it: stored, it answers the same acknowledgement (nothing is taken
   * twice); failed, this attempt is taken in full from its own body. An older attempt that keeps
   * receiving bytes, or whose own work (its disk, its code) holds it between reads, is not cut.
   */
  async receive(
    body: ReadableStream<Uint8Array> | null,
    supersede: () => void = () => {},
  ): Promise<TransferAck> {
    if (!body) throw new PagletError("bad_request", "A transfer needs a body");
    const reader = new ByteReader(body);
    let envelope: TransferEnvelope;
    try {
      ({ envelope } = await readTransferHead(reader, this.maxEnvelopeBytes));
    } catch (err) {
      await reader.cancel();
      throw err;
    }
    const id = envelope.transferId;
    for (let older = 0;; older++) {
      const known = await this.#ledger.get(id);
      // No await from this look to the entry #open makes: of attempts that cross, one takes it.
      const running = known ? undefined : this.#inflight.get(id);
      if (!known && !running) return this.#open(envelope, reader, supersede);
      if (running && older < MAX_OLDER_ATTEMPTS) {
        running.supersede();
        const ack = await running.taking.catch(() => null);
        // Failed, the older attempt left nothing: this one takes the transfer (or waits again).
        if (!ack) continue;
        await reader.cancel();
        return ack;
      }
      await reader.cancel();
      if (known) return this.#ackFor(known);
      // Not a refusal (a sender takes a 4xx for one, and restores its copy): a failure that may pass.
      throw new PagletError(
        "timeout",
        `Transfer ${id} is still being taken by another attempt, after ${older} attempts of it before this one`,
      );
    }
  }

  /** Takes the attempt whose envelope was read from `reader`, as the one open attempt of its transfer. */
  #open(envelope: TransferEnvelope, reader: ByteReader, supersede: () => void): Promise<TransferAck> {
    const id = envelope.transferId;
    const now = Date.now();
    const progress: ArrivingTransfer = {
      transferId: id,
      agentId: envelope.agent.id,
      direction: "in",
      status: "receiving",
      peer: envelope.source.url,
      bytes: 0,
      createdAt: now,
      updatedAt: now,
    };
    const attempt: OpenAttempt = {
      taking: this.#take(envelope, reader, (n) => {
        progress.bytes += n;
        progress.updatedAt = Date.now();
      }).finally(() => this.#inflight.delete(id)),
      progress,
      supersede,
    };
    this.#inflight.set(id, attempt);
    return attempt.taking;
  }

  #ackFor(row: TransferRow): TransferAck {
    if (row.direction !== "in") {
      throw new PagletError(
        "state_conflict",
        `Transfer ${row.transferId} is this host's own outgoing transfer`,
      );
    }
    if (row.status === "refused") {
      throw new PagletError(
        "transfer_refused",
        `Transfer ${row.transferId} was given up by its source; it is not taken any more`,
      );
    }
    return {
      transferId: row.transferId,
      id: row.agentId,
      host: this.#host.url,
      status: row.status as "stored" | "arrived",
    };
  }

  /**
   * Checks an arriving agent, spools its files and records the arrival durably. On any failure the
   * spool is removed and nothing is recorded, so the source may try again. `moving`: what a record
   * of the agent held moving here is taken for (see #checkNoConflict).
   */
  async #store(
    envelope: TransferEnvelope,
    moving: "settle" | "refuse",
    spoolFiles: (spool: string) => Promise<string[]>,
  ): Promise<Omit<AgentRecord, "updatedAt">> {
    const spool = join(this.#spoolRoot, envelope.transferId);
    try {
      await this.#checkAcceptable(
        envelope.agent.type,
        envelope.meshVersion,
        envelope.agent.state.length,
        envelope.files,
        envelope.agent.meta.code,
      );
      await this.#checkCode(envelope.agent.type, envelope.agent.meta.code, envelope.source.url);
      await this.#checkNoConflict(envelope.agent.id, moving);
      const record = this.#arrivalRecord(envelope, await spoolFiles(spool));
      // A clone starts with an empty queue: the stored messages were sent to the original.
      const queued = envelope.kind === "clone" ? [] : envelope.queued ?? [];
      await this.#ledger.storeArrival(envelope.transferId, envelope.source.url, record, queued);
      return record;
    } catch (err) {
      // A spool left behind is removed by the recovery at the next start.
      await Deno.remove(spool, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  async #take(
    envelope: TransferEnvelope,
    reader: ByteReader,
    spooledBytes: (n: number) => void,
  ): Promise<TransferAck> {
    const tid = envelope.transferId;
    let record: Omit<AgentRecord, "updatedAt">;
    try {
      record = await this.#store(envelope, "settle", async (spool) => {
        const spooled = await this.#spoolFiles(envelope.files, reader, spool, spooledBytes);
        if (!(await reader.atEnd())) {
          throw new PagletError("malformed_cbor", "Malformed transfer body: bytes after the last file");
        }
        return spooled;
      });
    } catch (err) {
      await reader.cancel();
      throw err;
    }
    fault("exit-after-store");
    this.#host.events.emit("transfer-stored", {
      agentId: record.id,
      type: record.type,
      data: { transferId: tid, kind: envelope.kind, source: envelope.source.url },
    });
    // Started after the acknowledgement has gone out; deliveries meanwhile wait for the start.
    const gate = Promise.withResolvers<void>();
    this.#settle(record.id, gate.promise.then(() => this.#arrive(tid, record)));
    immediate(gate.resolve); // not setTimeout(0): that waits for the next timer tick (1-2 ms)
    return { transferId: tid, id: record.id, host: this.#host.url, status: "stored" };
  }

  async #spoolFiles(
    files: EnvelopeFile[],
    reader: ByteReader,
    spool: string,
    spooledBytes: (n: number) => void,
  ): Promise<string[]> {
    if (files.length === 0) return [];
    await Deno.mkdir(spool, { recursive: true });
    const out: string[] = [];
    for (const [i, file] of files.entries()) {
      const size = await readFileHeader(reader, file.name);
      if (size !== file.size) {
        throw new PagletError(
          "invalid_request",
          `File '${file.name}' is listed with ${file.size} bytes but ${size} follow`,
        );
      }
      const part = join(spool, `${i}.part`);
      const writer = await HashingFileWriter.create(part);
      let sha256: string;
      try {
        await reader.pipe(
          size,
          spoolWrite((chunk) => {
            spooledBytes(chunk.length);
            return writer.write(chunk);
          }),
        );
        sha256 = await writer.close();
      } catch (err) {
        await writer.abort();
        throw err;
      }
      if (sha256 !== file.sha256) {
        throw new PagletError(
          "checksum_mismatch",
          `File '${file.name}' arrived with SHA-256 ${sha256}, expected ${file.sha256}`,
        );
      }
      const final = join(spool, String(i));
      await Deno.rename(part, final);
      out.push(final);
    }
    return out;
  }

  #arrivalRecord(envelope: TransferEnvelope, spooled: string[]): Omit<AgentRecord, "updatedAt"> {
    const previous = new Map(registeredFiles(envelope.agent.meta).map((f) => [f.name, f]));
    const files: RegisteredFile[] = envelope.files.map((f, i) => ({
      name: f.name,
      mode: f.mode,
      path: spooled[i],
      size: f.size,
      sha256: f.sha256,
      mtimeMs: null,
      registeredAt: previous.get(f.name)?.registeredAt ?? envelope.sentAt,
    }));
    const arrival: ArrivalNote = {
      transferId: envelope.transferId,
      kind: envelope.kind,
      source: envelope.source.url,
      sourceName: envelope.source.name,
      arrivalMode: envelope.arrivalMode,
      cloneOf: envelope.cloneOf,
    };
    const inactive = envelope.arrivalMode === "inactive";
    return {
      id: envelope.agent.id,
      type: envelope.agent.type,
      status: inactive ? "inactive" : "moving",
      state: envelope.agent.state,
      policy: inactive ? { ...DEFAULT_POLICY } : null,
      createdAt: envelope.kind === "clone" ? Date.now() : envelope.agent.createdAt,
      meta: { ...envelope.agent.meta, files, arrival },
    };
  }

  #settle(agentId: string, work: Promise<unknown>): void {
    // The work reports its own failures (events, ledger); the hold only orders deliveries after it.
    void this.#host.runtime.hold(agentId, work).catch(() => {});
  }

  /** Puts files in place and starts the stored agent (or leaves it inactive), then marks it arrived. */
  async #arrive(transferId: string, stored: Omit<AgentRecord, "updatedAt">): Promise<void> {
    const host = this.#host;
    const record = await host.store.get(stored.id) ?? null;
    const arrival = record?.meta.arrival as ArrivalNote | undefined;
    if (!record || arrival?.transferId !== transferId) {
      // Disposed (or replaced) before it was started: nothing left to start.
      await this.#ledger.setStatus(transferId, "arrived");
      return;
    }
    const meta: Record<string, unknown> = { ...record.meta };
    delete meta.arrival;
    const event: LifecycleEvent = {
      kind: arrival.kind === "clone" ? "clone" : "arrival",
      at: Date.now(),
      hostName: host.name,
      source: arrival.source,
      target: host.url,
      reason: arrival.kind,
      cloneOf: arrival.cloneOf,
    };
    try {
      meta.files = await this.#files.materialize(
        record.id,
        registeredFiles(record.meta).map((file) => ({ file, spooled: file.path })),
      );
      if (arrival.arrivalMode === "inactive") {
        await host.store.put({ ...record, status: "inactive", meta });
      } else {
        // Its code fetched again from where it came from (not from this host) if it went meanwhile.
        const source = arrival.source === host.url ? undefined : arrival.source;
        if (!await host.runtime.arrive({ ...record, status: "active", meta }, event, source)) {
          // Here, and waiting for its code (restore-waiting): the handoff is complete.
          return void await this.#ledger.setStatus(transferId, "arrived");
        }
      }
      await this.#ledger.setStatus(transferId, "arrived");
      host.events.emit("arrival", {
        agentId: record.id,
        type: record.type,
        data: {
          transferId,
          kind: arrival.kind,
          source: arrival.source,
          active: arrival.arrivalMode === "active",
          cloneOf: arrival.cloneOf,
        },
      });
    } catch (err) {
      if (stoppedByShutdown(err)) {
        // The host stops: the agent is here, files in place, and starts at the next start (as a
        // restore: its onArrival/onClone does not run; its onActivation says it arrived).
        await host.store.put({ ...record, status: "active", meta: waitedArrival(meta, event) });
        await this.#ledger.setStatus(transferId, "arrived");
        return;
      }
      // The handoff itself is complete; the agent failed to start here (its hook threw).
      const message = PagletError.from(err).message;
      await host.store.put({
        ...record,
        status: "crashed",
        meta: { ...meta, crashError: `arrival failed: ${message}` },
      });
      await this.#ledger.setStatus(transferId, "arrived");
      host.events.emit("paglet-crashed", {
        agentId: record.id,
        type: record.type,
        error: `arrival failed: ${message}`,
      });
    } finally {
      // A spool left behind is removed by the recovery at the next start.
      await Deno.remove(join(this.#spoolRoot, transferId), { recursive: true }).catch(() => {});
    }
  }

  /** A same-host clone: the envelope and local files go through the same checks and storage. */
  async receiveLocal(envelope: TransferEnvelope, paths: string[]): Promise<TransferAck> {
    const tid = envelope.transferId;
    const record = await this.#store(envelope, "refuse", async (spool) => {
      const spooled: string[] = [];
      if (paths.length) await Deno.mkdir(spool, { recursive: true });
      for (const [i, path] of paths.entries()) {
        const dest = join(spool, String(i));
        await Deno.copyFile(path, dest);
        spooled.push(dest);
      }
      return spooled;
    });
    const arrived = this.#arrive(tid, record);
    this.#settle(record.id, arrived);
    await arrived;
    return { transferId: tid, id: record.id, host: this.#host.url, status: "arrived" };
  }

  /**
   * `GET /v1/transfers/:id`: what this host knows about a transfer, at once: how far it got while
   * it arrives, else its ledger row.
   */
  async status(transferId: string): Promise<TransferRow | ArrivingTransfer> {
    const arriving = this.#inflight.get(transferId);
    if (arriving) return { ...arriving.progress };
    const row = await this.#ledger.get(transferId);
    if (!row) throw new PagletError("transfer_not_found", `No transfer ${transferId} on this host`);
    return row;
  }

  /**
   * `POST /v1/transfers/:id/abandon`: the source gives up on a transfer it could not confirm,
   * written `ageMs` ago by its clock. The answer is final: `stored`/`arrived` (the agent lives here)
   * or `refused` (it never will). A transfer this host does
   * not know and may have taken and forgotten since (its row pruned after the retention) is
   * `transfer_expired` instead: this host cannot say, and a `refused` could make a second copy.
   */
  async abandon(
    transferId: string,
    agentId: string,
    peer: string,
    ageMs?: number,
    agentCreatedAt?: number,
  ): Promise<TransferRow> {
    // A source that asks has given up every attempt of the transfer: one still open is given up once
    // its body has been quiet for SUPERSEDED_QUIET_MS, as for a retry (one still receiving ends as
    // it ends), and answers.
    const open = this.#inflight.get(transferId);
    open?.supersede();
    await open?.taking.catch(() => {});
    // A row found answers (a prune may delete it before a `refused` could be written in its place).
    const found = await this.#ledger.get(transferId);
    if (found) return inbound(found);
    const now = Date.now();
    const forgottenThrough = this.#ledger.forgottenThrough();
    const record = await this.#host.store.get(agentId);
    const lives = this.#host.runtime.isLive(agentId) || record?.status === "active" ||
      record?.status === "inactive";
    const verdict = unknownTransferVerdict({
      now,
      ageMs,
      living: lives && record ? record.createdAt : null,
      agentCreatedAt,
      forgottenThrough,
      marginMs: this.#ledger.clockMarginMs,
    });
    if (verdict === "here") {
      // Not written: what answers is the agent's record, while it lasts.
      return {
        transferId,
        agentId,
        direction: "in",
        status: "arrived",
        peer,
        peerName: null,
        peerId: null,
        createdAt: now,
        updatedAt: now,
      };
    }
    if (verdict !== "never") {
      const why = verdict === "another"
        ? `and the paglet ${agentId} that lives there is another one (created at ${
          new Date(record!.createdAt).toISOString()
        })`
        : `which forgot the transfers it took up to ${
          new Date(forgottenThrough!).toISOString()
        } (--forwarding-retention): it may have taken the agent then`;
      throw new PagletError(
        "transfer_expired",
        `Transfer ${transferId} of ${agentId} is not known on host ${this.#host.name}, ${why}. ` +
          `Find where ${agentId} runs before settling the move by hand (docs/mobility.md, "A move its target forgot")`,
        { host: this.#host.name, hostId: this.#host.id, forgottenThrough },
      );
    }
    return inbound(await this.#ledger.refuse(transferId, agentId, peer));
  }

  /**
   * At host start: agents stored but not yet started (the host stopped between its acknowledgement
   * and the start) are started now; spool folders of transfers that never completed are removed.
   */
  async recover(): Promise<number> {
    const stored = await this.#ledger.list("in", "stored");
    const keep = new Set(stored.map((r) => r.transferId));
    try {
      for await (const entry of Deno.readDir(this.#spoolRoot)) {
        if (!keep.has(entry.name)) {
          // Tried again at the next start; a stale spool holds nothing durable.
          await Deno.remove(join(this.#spoolRoot, entry.name), { recursive: true }).catch(() => {});
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const row of stored) {
      const record = await this.#host.store.get(row.agentId);
      if (!record) {
        await this.#ledger.setStatus(row.transferId, "arrived");
        continue;
      }
      const arriving = this.#arrive(row.transferId, record);
      this.#settle(record.id, arriving);
      await arriving;
    }
    return stored.length;
  }
}

function conflict(agentId: string): PagletError {
  return new PagletError("state_conflict", `Agent ${agentId} already exists on this host`);
}

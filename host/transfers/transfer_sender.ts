/**
 * Sending a transfer to another host: the preflight, the streamed envelope with bounded retries
 * under one transfer id, and the final question that settles a transfer the source could not
 * confirm. An attempt has no deadline on its total time, only on silence (`stallTimeoutMs`): a
 * big transfer to a slow disk takes as long as it takes, a target that stops taking bytes is
 * given up on. Whether the target takes bytes is asked of the target itself: its HTTP server may
 * read far ahead of its spool. The body goes to an `http:` target with its length, over a
 * connection of its own (host/sized_upload.ts); to an `https:` one or through a proxy, by `fetch`.
 */
import { millisecondsFromEnv } from "../env_ms.ts";
import { PagletError } from "../../agents/errors.ts";
import { statusOf } from "../http/status.ts";
import { HostClient } from "../client.ts";
import type { RegisteredFile } from "../storage/files/registered_files.ts";
import { byteStringHeader, encodeTransferHead, type TransferEnvelope } from "./envelope.ts";
import type { ArrivingTransfer, PreflightRequest, TransferAck } from "./receiver.ts";
import type { TransferRow } from "./transfer_ledger.ts";
import type { HostAddress } from "../storage/agent_store.ts";
import { fault } from "./faults.ts";
import { StallWatch } from "../stall_watch.ts";
import { sleep } from "../../agents/timers.ts";

/** How a send ended: acknowledged, refused for sure (nothing stored), or not confirmed either way. */
export type SendOutcome =
  | { kind: "acked"; ack: TransferAck }
  | { kind: "refused"; error: PagletError }
  | { kind: "unconfirmed"; error: PagletError };

export interface SendPolicy {
  /** Attempts of the POST under the same transfer id. @default 4 */
  attempts: number;
  /** Delay before the second attempt; tripled for each further one. @default 100 */
  baseDelayMs: number;
  /**
   * Timeout of the preflight and of settling questions; also how long a target may leave
   * unanswered the questions the source asks while its transfer's connection is quiet before the
   * attempt is given up as one to a target that stopped answering (and not retried). @default 5000
   */
  questionTimeoutMs: number;
  /**
   * How long an attempt of the transfer POST may go without progress before it is given up (and
   * retried): the connection took no chunk of the body, and the target's spool (which the source
   * asks `GET /v1/transfers/:id` while its connection is quiet) did not grow. There is no limit on
   * an attempt's total time, so a transfer that keeps moving is never cut off.
   * `PAGLETS_TRANSFER_STALL_MS` in the host's environment sets it. @default 30000
   */
  stallTimeoutMs: number;
  /**
   * How long a target's yes to a preflight (for a type, kind and mesh version) is reused, and only
   * while the target answered this host within the last 2 s (a target cut off since is asked
   * again, and the move fails before onDispatching). The transfer itself is checked again in full,
   * so a stale yes costs a round of onDispatching and restore, never a wrong arrival. 0 = ask every
   * time. @default 10000
   */
  preflightTtlMs: number;
}

/**
 * Who a target says it is: its name and its id across restarts (host/host_id.ts); null each where
 * it does not say (hosts before names and ids were kept).
 */
type TargetIdentity = Omit<HostAddress, "url">;

/** What a target answered to a preflight. */
interface Acceptance extends TargetIdentity {
  until: number;
  maxEnvelopeBytes: number;
  maxFileBytes: number | null;
}

const READ_CHUNK = 1 << 20;

/**
 * How long a transfer's connection is quiet before the source asks the target how far it got (at
 * most a quarter of the stall limit): the answer tells a target that stopped answering (suspended,
 * hung) from one that takes its time, long before the stall limit would.
 */
const PROBE_AFTER_MS = 1000;

/**
 * The parts of the send policy set in the host's environment: `PAGLETS_TRANSFER_STALL_MS` (a
 * positive integer; tests shorten the stall limit with it).
 */
export function sendPolicyFromEnv(): Partial<SendPolicy> {
  const ms = millisecondsFromEnv("PAGLETS_TRANSFER_STALL_MS", 0);
  return ms ? { stallTimeoutMs: ms } : {};
}

/** An attempt given up because the target answered nothing (the stall watch's answer limit). */
function notAnswering(err: PagletError): boolean {
  return (err.details as { answering?: unknown } | undefined)?.answering === false;
}

/** Errors that prove the target did not store the transfer: it answered with a 4xx. */
function isDefinitive(err: PagletError): boolean {
  const status = statusOf(err.code);
  return status >= 400 && status < 500 && err.code !== "timeout";
}

/**
 * The request body: the head, then each file as a byte string read from disk in 1 MiB chunks.
 * `progress` is called whenever the connection asks for the next chunk, that is, took the last
 * one. A body of one chunk goes as plain bytes. `end()` stops reading files once the attempt is
 * over: a server that answers early (an error) leaves the body to be drained otherwise (by `fetch`;
 * host/sized_upload.ts cancels the stream). Its length is {@link transferBodyLength}.
 */
function transferBody(
  head: Uint8Array,
  files: RegisteredFile[],
  progress: () => void,
): { body: BodyInit; end(): void } {
  if (files.length === 0 && head.length <= READ_CHUNK) {
    return { body: head as Uint8Array<ArrayBuffer>, end() {} };
  }
  let ended = false;
  let headSent = 0;
  let index = -1;
  let file: Deno.FsFile | null = null;
  let left = 0;
  const closeFile = () => {
    try {
      file?.close();
    } catch { /* closed */ }
    file = null;
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      progress();
      try {
        if (ended) throw new Error("The attempt is over");
        if (headSent < head.length) {
          const end = Math.min(head.length, headSent + READ_CHUNK);
          controller.enqueue(head.subarray(headSent, end));
          headSent = end;
          return;
        }
        if (file && left > 0) {
          const buf = new Uint8Array(Math.min(READ_CHUNK, left));
          const n = await file.read(buf);
          if (n === null) {
            throw new Error(`Registered file '${files[index].name}' shrank while it was being sent`);
          }
          left -= n;
          controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
          if (left === 0) closeFile();
          return;
        }
        index++;
        if (index >= files.length) {
          controller.close();
          return;
        }
        left = files[index].size;
        controller.enqueue(byteStringHeader(left));
        if (left > 0) file = await Deno.open(files[index].path, { read: true });
      } catch (err) {
        closeFile();
        controller.error(err);
      }
    },
    cancel() {
      closeFile();
    },
  });
  return {
    body,
    end() {
      ended = true;
    },
  };
}

/**
 * The bytes {@link transferBody} sends: the head, then each file's byte string header and its
 * registered size (what is read of it, no more; a file that shrank fails the body).
 */
function transferBodyLength(head: Uint8Array, files: RegisteredFile[]): number {
  return files.reduce((n, f) => n + byteStringHeader(f.size).length + f.size, head.length);
}

/** How recently a target must have answered for a remembered preflight yes to stand for a new one. */
const HEARD_RECENTLY_MS = 2000;

export class TransferSender {
  readonly #apiKey: string | null;
  readonly #policy: SendPolicy;
  readonly #clients = new Map<string, HostClient>();
  readonly #accepted = new Map<string, Acceptance>();
  /** When each target last answered this host (a preflight's yes, a transfer's acknowledgement). */
  readonly #heard = new Map<string, number>();
  /** Called before each retry (events, logs). */
  onRetry: (url: string, transferId: string, attempt: number, error: PagletError) => void = () => {};
  /** Called once per send with how it ended and the bytes it carried (for /metrics). */
  onOutcome: (outcome: SendOutcome["kind"], bytes: number) => void = () => {};

  constructor(apiKey: string | null, policy: Partial<SendPolicy> = {}) {
    this.#apiKey = apiKey;
    this.#policy = {
      attempts: 4,
      baseDelayMs: 100,
      questionTimeoutMs: 5000,
      stallTimeoutMs: 30_000,
      preflightTtlMs: 10_000,
      ...policy,
    };
    if (!Number.isInteger(this.#policy.attempts) || this.#policy.attempts < 1) {
      throw new RangeError(
        `Cannot send transfers as 'attempts' must be a positive integer: current value is ${this.#policy.attempts}`,
      );
    }
    if (!Number.isFinite(this.#policy.stallTimeoutMs) || this.#policy.stallTimeoutMs <= 0) {
      throw new RangeError(
        `Cannot send transfers as 'stallTimeoutMs' must be a positive number: current value is ${this.#policy.stallTimeoutMs}`,
      );
    }
  }

  client(url: string): HostClient {
    let client = this.#clients.get(url);
    if (!client) {
      client = new HostClient(url, { apiKey: this.#apiKey, peer: true });
      this.#clients.set(url, client);
    }
    return client;
  }

  /**
   * Asks the target whether it would take the agent; throws a clear error when it would not, and
   * returns who it says it is. A recent yes for the same target, type, kind and mesh version is
   * reused within its limits. `subject`: the agent an error names (a clone's source; the request
   * names the copy).
   */
  async preflight(
    url: string,
    request: PreflightRequest,
    subject = request.agentId,
  ): Promise<TargetIdentity> {
    const key = `${url}\n${request.type}\n${request.code ?? ""}\n${request.kind}\n${request.meshVersion}`;
    const known = this.#accepted.get(key);
    // A remembered yes stands for the question only while the target was just heard from: a
    // target cut off since must fail the move here, before onDispatching, not after it.
    const heard = this.#heard.get(url) ?? 0;
    if (
      known && known.until > Date.now() && Date.now() - heard < HEARD_RECENTLY_MS &&
      (request.stateSize ?? 0) <= known.maxEnvelopeBytes &&
      request.files.every((f) => known.maxFileBytes === null || f.size <= known.maxFileBytes!)
    ) return { name: known.name, id: known.id };
    try {
      const answer = await this.client(url).request<
        Omit<Acceptance, "until" | "name" | "id"> & { name?: unknown; hostId?: unknown }
      >(
        "POST",
        "/v1/transfers/preflight",
        request,
        this.#policy.questionTimeoutMs,
      );
      this.#heard.set(url, Date.now());
      const name = typeof answer.name === "string" ? answer.name : null;
      const id = typeof answer.hostId === "string" ? answer.hostId : null;
      if (this.#policy.preflightTtlMs > 0) {
        this.#accepted.set(key, {
          until: Date.now() + this.#policy.preflightTtlMs,
          name,
          id,
          maxEnvelopeBytes: answer.maxEnvelopeBytes,
          maxFileBytes: answer.maxFileBytes,
        });
      }
      return { name, id };
    } catch (err) {
      const e = PagletError.from(err);
      const what = `${request.kind} ${subject} to ${url}`;
      if (
        e.code === "host_unreachable" || e.code === "timeout" || e.code === "draining" ||
        e.code === "starting"
      ) {
        throw new PagletError(
          "host_unreachable",
          `Cannot ${what}: the target does not answer (${e.message})`,
        );
      }
      // The target refused the move before any of it was sent: a refused transfer all the same, as
      // the target counts it (a refused key never reached its preflight).
      if (e.code !== "peer_unauthorized" && e.code !== "unauthorized") this.onOutcome("refused", 0);
      throw new PagletError(e.code, `Cannot ${what}: ${e.message}`, e.details);
    }
  }

  /**
   * Sends the envelope (and files), retrying network failures under the same transfer id. `who`:
   * the target, as its preflight answered (see {@link settle}).
   */
  async send(
    url: string,
    envelope: TransferEnvelope,
    files: RegisteredFile[],
    who: TargetIdentity,
  ): Promise<SendOutcome> {
    const head = encodeTransferHead(envelope);
    const bytes = head.length + files.reduce((n, f) => n + f.size, 0);
    const outcome = await this.#send({ url, ...who }, envelope, files, head, bytes);
    this.onOutcome(outcome.kind, bytes);
    return outcome;
  }

  async #send(
    target: HostAddress,
    envelope: TransferEnvelope,
    files: RegisteredFile[],
    head: Uint8Array,
    bytes: number,
  ): Promise<SendOutcome> {
    const url = target.url;
    let lastError = new PagletError("transfer_failed", "not sent");
    for (let attempt = 1; attempt <= this.#policy.attempts; attempt++) {
      try {
        const ack = await this.#post(url, envelope.transferId, head, files, bytes);
        this.#heard.set(url, Date.now());
        return { kind: "acked", ack };
      } catch (err) {
        lastError = PagletError.from(err);
        this.forget(url);
        if (isDefinitive(lastError)) return { kind: "refused", error: lastError };
        // A target that answers nothing at all would hold every further attempt, and a settling
        // question, for as long: what became of this one is the target's to say once it answers
        // again (the caller's resolver asks it).
        if (notAnswering(lastError)) return { kind: "unconfirmed", error: lastError };
        if (attempt < this.#policy.attempts) {
          this.onRetry(url, envelope.transferId, attempt, lastError);
          await sleep(this.#policy.baseDelayMs * 3 ** (attempt - 1));
        }
      }
    }
    // Every attempt failed without an answer: any of them may have arrived (an error without an
    // answer, from fetch or a connection of its own, does not tell a refused connection from one
    // that broke after the body left), so the target decides.
    const settled = await this.settle(
      target,
      envelope.transferId,
      envelope.agent.id,
      envelope.source.url,
      envelope.sentAt,
      envelope.kind === "clone" ? undefined : envelope.agent.createdAt,
    );
    if (settled.verdict === "stored") {
      return {
        kind: "acked",
        ack: { transferId: envelope.transferId, id: envelope.agent.id, host: url, status: "stored" },
      };
    }
    if (settled.verdict === "refused") return { kind: "refused", error: lastError };
    return { kind: "unconfirmed", error: lastError };
  }

  /**
   * One attempt of the POST, given up when nothing moves for `stallTimeoutMs`: neither on this side
   * (the connection takes chunks) nor on the target's (its spool grows); or sooner, when the target
   * answers none of the questions asked while the connection is quiet for `questionTimeoutMs`.
   */
  async #post(
    url: string,
    transferId: string,
    head: Uint8Array,
    files: RegisteredFile[],
    bytes: number,
  ): Promise<TransferAck> {
    const limitMs = this.#policy.stallTimeoutMs;
    const answerMs = this.#policy.questionTimeoutMs;
    const watch = new StallWatch(limitMs, {
      probe: (signal) => this.#spooled(url, transferId, signal),
      probeAfterMs: Math.min(PROBE_AFTER_MS, limitMs / 4),
      answerLimitMs: answerMs,
    });
    const { body, end } = transferBody(head, files, watch.progress);
    try {
      // With its length, the stream goes to an `http:` target with a content-length over a
      // connection of its own (host/sized_upload.ts: Deno's fetch would send it chunked in 64 KiB
      // pieces, which the target's server takes slower and slower); `fetch` sends it otherwise.
      const res = await this.client(url).fetch("POST", "/v1/transfers", {
        body,
        length: transferBodyLength(head, files),
        headers: { "content-type": "application/cbor" },
        // The target answers once it has stored all of it: only a stall ends the attempt.
        signal: watch.signal,
        signalOnly: true,
      });
      fault("exit-after-send");
      return await res.json() as TransferAck;
    } catch (err) {
      if (!watch.stalled) throw err;
      if (watch.unanswered) {
        throw new PagletError(
          "timeout",
          `Transfer ${transferId} (${bytes} bytes) to ${url} got no answer: the target answered neither the transfer nor GET /v1/transfers/${transferId} for ${answerMs} ms`,
          { target: url, answering: false },
        );
      }
      throw new PagletError(
        "timeout",
        `Transfer ${transferId} (${bytes} bytes) to ${url} stalled: nothing moved for ${limitMs} ms`,
      );
    } finally {
      end();
      watch.stop();
    }
  }

  /**
   * How far the target got with a transfer it is taking: the bytes in its spool, more than any
   * count once it has stored it; null when it answers without saying (refused, unknown there, an
   * error answer), which the watch takes for no progress. It rejects only when the target did not
   * answer at all: the watch's sign of a target that stopped.
   */
  async #spooled(url: string, transferId: string, signal: AbortSignal): Promise<number | null> {
    let res: Response;
    try {
      res = await this.client(url).fetch("GET", `/v1/transfers/${encodeURIComponent(transferId)}`, {
        signal,
      });
    } catch (err) {
      // An error answer (transfer_not_found, too_many_connections, draining…) is an answer: the
      // target runs. No answer is a timeout, a failed connection, or the question's end (`signal`).
      if (err instanceof PagletError && err.code !== "timeout" && err.code !== "host_unreachable") {
        return null;
      }
      throw err;
    }
    const row = await res.json().catch(() => null) as TransferRow | ArrivingTransfer | null;
    if (row?.status === "receiving") return (row as ArrivingTransfer).bytes;
    return row?.status === "stored" || row?.status === "arrived" ? Number.MAX_SAFE_INTEGER : null;
  }

  /** Drops remembered preflight answers of `url` (after a failure there). */
  forget(url: string): void {
    for (const key of this.#accepted.keys()) if (key.startsWith(`${url}\n`)) this.#accepted.delete(key);
  }

  /**
   * Settles a transfer the source could not confirm, for good: `stored` (the target has it),
   * `refused` (it never will), or `unknown` when the target still does not answer, or another host
   * answers at its URL (one whose id is not `target.id`, or without ids, whose name is not
   * `target.name`); `starting` when the host at its URL runs but does not serve yet (it answers
   * once it has started); `expired` when the target does not know the transfer and may have taken
   * it and forgotten it since (it never will say). `since`: when the departure was written or the
   * transfer sent (this host's clock), which the target compares with what it forgot.
   * `agentCreatedAt`: when the paglet that left (a move, not a clone) was created, so that the
   * target does not take another paglet of its id for it. `name`: the name the target answered
   * under (it may have been renamed since the move), with a final verdict.
   */
  async settle(
    target: HostAddress,
    transferId: string,
    agentId: string,
    source: string,
    since: number,
    agentCreatedAt?: number,
  ): Promise<{ verdict: SettleVerdict; name?: string }> {
    const final = (verdict: SettleVerdict, who: Answerer | undefined) =>
      typeof who?.host === "string" ? { verdict, name: who.host } : { verdict };
    try {
      const row = await this.client(target.url).request<TransferRow & Answerer>(
        "POST",
        `/v1/transfers/${encodeURIComponent(transferId)}/abandon`,
        { agentId, source, ageMs: Math.max(0, Date.now() - since), agentCreatedAt },
        this.#policy.questionTimeoutMs,
      );
      if (!answeredBy(target, row)) return { verdict: "unknown" };
      return final(row.status === "stored" || row.status === "arrived" ? "stored" : "refused", row);
    } catch (err) {
      if (!(err instanceof PagletError)) return { verdict: "unknown" };
      if (err.code === "starting") return { verdict: "starting" };
      // An error answer: a target before `transfer_expired` says it never does, and one that does
      // not know the code takes it for no answer (the paglet stays reserved either way).
      return err.code === "transfer_expired" && answeredBy(target, err.details as Answerer)
        ? final("expired", err.details as Answerer)
        : { verdict: "unknown" };
    }
  }
}

/** What a settling question answers. */
export type SettleVerdict = "stored" | "refused" | "expired" | "unknown" | "starting";

/** Who answers a settling question (the answer's `host` and `hostId`, or the details of its error). */
interface Answerer {
  host?: unknown;
  hostId?: unknown;
}

/**
 * Whether `target` itself answered, and not another host at its address now (the target came back
 * elsewhere, another took its port, or has its name): that one's word is not the target's, whose
 * answer is still awaited. The id decides where both sides have one (a target renamed since is
 * still itself), else the name.
 */
function answeredBy(target: HostAddress, who: Answerer | null | undefined): boolean {
  const hostId = who?.hostId, host = who?.host;
  return target.id && typeof hostId === "string"
    ? hostId === target.id
    : !(target.name !== null && typeof host === "string" && host !== target.name);
}

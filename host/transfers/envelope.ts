/**
 * The transfer envelope and its wire form.
 *
 * `POST /v1/transfers` carries one CBOR data item (`application/cbor`): a definite-length array
 * `[envelope, file₀, file₁, …]` where `envelope` is the CBOR-encoded {@link TransferEnvelope}
 * wrapped as embedded CBOR (tag 24 around a byte string) and each `fileᵢ` is a byte string with
 * the content of `envelope.files[i]`. Every element has its length up front, so both sides
 * stream: the receiver validates the envelope before it reads a single file byte, and file bytes
 * go from socket to disk in chunks.
 *
 * @example
 * ```ts
 * const head = encodeTransferHead(envelope); // array header + tag 24 + envelope
 * // then for each file: byteStringHeader(size) followed by the file's bytes
 * ```
 */
import { z } from "zod";
import { PagletError } from "../../agents/errors.ts";
import { decodeCbor, encodeCbor } from "../../agents/cbor.ts";
import { isValidAgentId } from "../kernel/ids.ts";
import { concat } from "../../agents/bytes.ts";
import { validFileName } from "../storage/files/registered_files.ts";
import { type Message, PRIORITY_MAX } from "../../agents/message.ts";

/** Why an agent travels. */
export type TransferKind = "dispatch" | "clone" | "retract";
/** `active`: the target starts the agent (onArrival/onClone, then run()); `inactive`: it stores it inactive. */
export type ArrivalMode = "active" | "inactive";

/** A registered file as it travels: the content follows the envelope in the same order. */
export interface EnvelopeFile {
  name: string;
  mode: "copy" | "move";
  size: number;
  sha256: string;
}

/**
 * A message stored for the agent (it arrived while the agent was inactive and was answered
 * `queued`) that its handler has not taken yet: it travels with the agent and is stored again on
 * the target, in the same order, in the transaction that stores the agent.
 */
export interface QueuedEntry {
  message: Message;
  oneway: boolean;
  /** When the source stored it (epoch ms). */
  queuedAt: number;
}

/** Everything a target needs to take an agent over. */
export interface TransferEnvelope {
  /** Idempotency key: a retry with the same id never creates a second agent. */
  transferId: string;
  kind: TransferKind;
  agent: {
    id: string;
    type: string;
    /** CBOR of the state (bigint, Uint8Array, Date, Map, Set survive). */
    state: Uint8Array;
    createdAt: number;
    meta: Record<string, unknown>;
  };
  source: { name: string; url: string };
  meshVersion: string;
  arrivalMode: ArrivalMode;
  /** For a clone: the original's id. */
  cloneOf?: string;
  files: EnvelopeFile[];
  /** The agent's stored messages, oldest first (a dispatch or retract; a clone gets none). Absent: none. */
  queued?: QueuedEntry[];
  sentAt: number;
}

/** Most files one transfer may carry. */
export const MAX_FILES = 1000;

const fileName = z.string().superRefine((name, ctx) => {
  try {
    validFileName(name);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

export const TransferIdSchema = z.string().regex(
  /^[A-Za-z0-9_-]{8,80}$/,
  "must be 8-80 letters, digits, '_' or '-'",
);

const EnvelopeSchema = z.object({
  transferId: TransferIdSchema,
  kind: z.enum(["dispatch", "clone", "retract"]),
  agent: z.object({
    id: z.string().refine(isValidAgentId, "must be a valid agent id"),
    type: z.string().min(1).max(200),
    state: z.instanceof(Uint8Array),
    createdAt: z.number().finite(),
    meta: z.record(z.string(), z.unknown()),
  }),
  source: z.object({ name: z.string().min(1).max(200), url: z.string().url() }),
  meshVersion: z.string().min(1).max(200),
  arrivalMode: z.enum(["active", "inactive"]),
  cloneOf: z.string().refine(isValidAgentId, "must be a valid agent id").optional(),
  files: z.array(z.object({
    name: fileName,
    mode: z.enum(["copy", "move"]),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256"),
  })).max(MAX_FILES),
  queued: z.array(z.object({
    message: z.object({
      kind: z.string().min(1),
      args: z.record(z.string(), z.unknown()),
      priority: z.number().int().min(0).max(PRIORITY_MAX),
      sender: z.string().optional(),
      id: z.string().min(1),
      sentAt: z.number().finite(),
    }),
    oneway: z.boolean(),
    queuedAt: z.number().finite(),
  })).optional(),
  sentAt: z.number().finite(),
});

/** Validates a decoded envelope; bad input raises `invalid_request` (422) naming the field. */
export function parseEnvelope(value: unknown): TransferEnvelope {
  const result = EnvelopeSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new PagletError("invalid_request", `Invalid transfer envelope: ${issues}`);
  }
  const envelope = result.data as TransferEnvelope;
  const names = new Set<string>();
  for (const file of envelope.files) {
    if (names.has(file.name)) {
      throw new PagletError(
        "invalid_request",
        `Invalid transfer envelope: file '${file.name}' is listed twice`,
      );
    }
    names.add(file.name);
  }
  return envelope;
}

// ---- CBOR framing -------------------------------------------------------------------------

const MAJOR_BYTES = 2;
const MAJOR_ARRAY = 4;
const MAJOR_TAG = 6;
const TAG_EMBEDDED_CBOR = 24;

/** The header of a CBOR item of `major` type with argument `n` (definite length). */
export function cborHeader(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x1_0000_0000) {
    return Uint8Array.of(m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  const out = new Uint8Array(9);
  out[0] = m | 27;
  new DataView(out.buffer).setBigUint64(1, BigInt(n));
  return out;
}

/** The header of a byte string of `size` bytes (what precedes each file's content). */
export function byteStringHeader(size: number): Uint8Array {
  return cborHeader(MAJOR_BYTES, size);
}

/** Array header, tag 24 and the embedded envelope: everything before the first file. */
export function encodeTransferHead(envelope: TransferEnvelope): Uint8Array {
  const inner = encodeCbor(envelope);
  return concat([
    cborHeader(MAJOR_ARRAY, 1 + envelope.files.length),
    cborHeader(MAJOR_TAG, TAG_EMBEDDED_CBOR),
    cborHeader(MAJOR_BYTES, inner.length),
    inner,
  ]);
}

/** Reads exact byte counts from a body stream; a premature end is a truncated transfer (400). */
export class ByteReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #done = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    while (this.#offset >= this.#chunk.length) {
      if (this.#done) return false;
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#done = true;
        return false;
      }
      this.#chunk = value;
      this.#offset = 0;
    }
    return true;
  }

  async readExact(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (!(await this.#fill())) throw truncated(n - filled);
      const take = Math.min(n - filled, this.#chunk.length - this.#offset);
      out.set(this.#chunk.subarray(this.#offset, this.#offset + take), filled);
      this.#offset += take;
      filled += take;
    }
    return out;
  }

  /** Hands the next `n` bytes to `sink` chunk by chunk, without copying them. */
  async pipe(n: number, sink: (chunk: Uint8Array) => Promise<void> | void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw truncated(left);
      const take = Math.min(left, this.#chunk.length - this.#offset);
      await sink(this.#chunk.subarray(this.#offset, this.#offset + take));
      this.#offset += take;
      left -= take;
    }
  }

  /** True when the stream has no bytes left. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  /** Reads a CBOR item header of the expected major type; returns its argument. */
  async header(major: number, what: string): Promise<number> {
    const [initial] = await this.readExact(1);
    const got = initial >> 5;
    const info = initial & 31;
    if (got !== major) {
      throw new PagletError(
        "malformed_cbor",
        `Malformed transfer body: expected ${what} (CBOR major type ${major}), got major type ${got}`,
      );
    }
    if (info < 24) return info;
    if (info === 24) return (await this.readExact(1))[0];
    if (info === 25) return new DataView((await this.readExact(2)).buffer).getUint16(0);
    if (info === 26) return new DataView((await this.readExact(4)).buffer).getUint32(0);
    if (info === 27) {
      const big = new DataView((await this.readExact(8)).buffer).getBigUint64(0);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new PagletError("payload_too_large", `Malformed transfer body: ${what} is too long`);
      }
      return Number(big);
    }
    throw new PagletError("malformed_cbor", `Malformed transfer body: ${what} must have a definite length`);
  }

  async cancel(): Promise<void> {
    // Cancelling a stream that already failed or ended: nothing to report.
    await this.#reader.cancel().catch(() => {});
  }
}

function truncated(missing: number): PagletError {
  return new PagletError("malformed_cbor", `Truncated transfer body: ${missing} more bytes expected`);
}

/**
 * Reads the array header and the embedded envelope. `maxEnvelopeBytes` bounds the allocation
 * before it happens.
 */
export async function readTransferHead(
  reader: ByteReader,
  maxEnvelopeBytes: number,
): Promise<{ envelope: TransferEnvelope; items: number }> {
  const items = await reader.header(MAJOR_ARRAY, "the transfer array");
  if (items < 1 || items > MAX_FILES + 1) {
    throw new PagletError("malformed_cbor", `Malformed transfer body: array of ${items} items`);
  }
  const tag = await reader.header(MAJOR_TAG, "tag 24 (embedded CBOR)");
  if (tag !== TAG_EMBEDDED_CBOR) {
    throw new PagletError("malformed_cbor", `Malformed transfer body: expected tag 24, got tag ${tag}`);
  }
  const size = await reader.header(MAJOR_BYTES, "the envelope byte string");
  if (size > maxEnvelopeBytes) {
    throw new PagletError(
      "payload_too_large",
      `Transfer envelope of ${size} bytes exceeds the limit of ${maxEnvelopeBytes}`,
    );
  }
  const envelope = parseEnvelope(decodeCbor(await reader.readExact(size)));
  if (items !== 1 + envelope.files.length) {
    throw new PagletError(
      "malformed_cbor",
      `Malformed transfer body: ${items - 1} file items for ${envelope.files.length} listed files`,
    );
  }
  return { envelope, items };
}

/** Reads the header of the next file's byte string. */
export function readFileHeader(reader: ByteReader, name: string): Promise<number> {
  return reader.header(MAJOR_BYTES, `the content of '${name}'`);
}

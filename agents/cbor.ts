/**
 * CBOR (cbor-x) for movement envelopes, stored state and host-to-host messages: bigint,
 * Uint8Array, Date, Map and Set survive natively; bigints of any size travel as binary bignums
 * (see bignum.ts). Tagged JSON for the control API is in wire.ts.
 */
import { Encoder, Tag } from "./cbor_x.ts";
import { PagletError } from "./errors.ts";
import { concat, indexOf } from "./bytes.ts";
import { bignumLeaf, installBignumDecoders, mapLeaves } from "./bignum.ts";

const cbor = new Encoder(
  { useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Encoder>[0],
);
installBignumDecoders();

/**
 * Byte strings from this size on (a Uint8Array, or a bignum's magnitude) are not written into
 * cbor-x's buffer, which would grow to four times their size and copy them there: they stay where
 * they are, between the pieces of the rest of the encoding ({@link encodeCborParts}). Fresh memory
 * costs a page fault per 4 KiB on this kind of VM (a 1 MB copy into a new buffer takes ~2.4 ms, the
 * copy itself a tenth of that); a 1 MB drain of Pi digits took 2.6-5 ms to encode, ~12 ms in a whole run.
 */
const LARGE_BYTES = 64 * 1024;
/** Stands for large byte string i while cbor-x encodes: 12 random bytes of this process, then i. */
const MARKER = crypto.getRandomValues(new Uint8Array(16));
/** How a marker's encoding begins: a 16-byte byte string's head (major type 2), its random bytes. */
const MARKED = Uint8Array.of(0x50, ...MARKER.subarray(0, 12));

/** Encodes a value as CBOR; bigints beyond 64 bits become bignums (tags 2/3) in linear time. */
export function encodeCbor(value: unknown): Uint8Array {
  const parts = encodeCborParts(value);
  return parts.length === 1 ? parts[0] : concat(parts);
}

/**
 * {@link encodeCbor}'s bytes as pieces to send one after the other: large byte strings are pieces of
 * their own, not copied (an HTTP answer streams them as they are).
 */
export function encodeCborParts(value: unknown): Uint8Array[] {
  const large: Uint8Array[] = [];
  const marked = mapLeaves(value, (leaf) => setAside(bignumLeaf(leaf), large));
  const encoded = cbor.encode(marked);
  return large.length === 0 ? [encoded] : splice(encoded, large);
}

/** A large byte string's marker in its place (noted in `large`), or the leaf as it is. */
function setAside(leaf: unknown, large: Uint8Array[]): unknown {
  if (leaf instanceof Uint8Array && leaf.constructor === Uint8Array && leaf.length >= LARGE_BYTES) {
    return markerFor(leaf, large);
  }
  if (leaf instanceof Tag && leaf.value instanceof ArrayBuffer && leaf.value.byteLength >= LARGE_BYTES) {
    return new Tag(markerFor(new Uint8Array(leaf.value), large).buffer, leaf.tag);
  }
  return leaf;
}

function markerFor(bytes: Uint8Array, large: Uint8Array[]): Uint8Array {
  const marker = MARKER.slice();
  new DataView(marker.buffer).setUint32(12, large.length);
  large.push(bytes);
  return marker;
}

/** `encoded` in pieces, every marker's byte string replaced by the large one it stands for. */
function splice(encoded: Uint8Array, large: Uint8Array[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let at = indexOf(encoded, MARKED); at >= 0; at = indexOf(encoded, MARKED, from)) {
    const index = new DataView(encoded.buffer, encoded.byteOffset + at + MARKED.length, 4).getUint32(0);
    const bytes = large[index];
    parts.push(encoded.subarray(from, at), byteStringHead(bytes.length), bytes);
    from = at + MARKED.length + 4;
  }
  parts.push(encoded.subarray(from));
  return parts;
}

/**
 * The head of a byte string of `length` bytes, at least LARGE_BYTES (major type 2 with a 4- or
 * 8-byte length, RFC 8949 §3.1).
 */
function byteStringHead(length: number): Uint8Array {
  const head = new Uint8Array(length < 2 ** 32 ? 5 : 9);
  const view = new DataView(head.buffer);
  if (head.length === 5) {
    head[0] = 0x5a;
    view.setUint32(1, length);
  } else {
    head[0] = 0x5b;
    view.setBigUint64(1, BigInt(length));
  }
  return head;
}

/** Decodes CBOR; malformed input raises `malformed_cbor`. */
export function decodeCbor<T = unknown>(bytes: Uint8Array): T {
  try {
    return cbor.decode(bytes) as T;
  } catch (err) {
    throw new PagletError("malformed_cbor", `Malformed CBOR: ${(err as Error).message}`);
  }
}

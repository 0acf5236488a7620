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

/** Options of {@link decodeCbor}. */
export interface DecodeCborOptions {
  /**
   * Deepest nesting of arrays, maps and tags the bytes may have (a top-level map is one level);
   * deeper bytes raise `malformed_cbor` before anything is decoded. Set it for bytes from outside:
   * the decoder recurses once per level, and a few thousand levels overflow the stack.
   * @default {Infinity} (no check: bytes this host wrote)
   */
  maxDepth?: number;
}

/**
 * Decodes CBOR; malformed input, or input nested deeper than `maxDepth`, raises `malformed_cbor`.
 *
 * @example
 * ```ts
 * // A body from outside: 201 levels or more raise malformed_cbor, and nothing is decoded.
 * const body = decodeCbor<Record<string, unknown>>(bytes, { maxDepth: 200 });
 * ```
 */
export function decodeCbor<T = unknown>(bytes: Uint8Array, options?: DecodeCborOptions): T {
  const maxDepth = options?.maxDepth ?? Infinity;
  if (!(maxDepth >= 1)) {
    throw new RangeError(`Cannot decode CBOR as 'maxDepth' must be at least 1: current value is ${maxDepth}`);
  }
  // Bytes from outside are walked first, however short: cbor-x reads a misplaced break (0xff) as
  // an empty map where the walk refuses it, and a too deep nesting would overflow its stack.
  if (options?.maxDepth !== undefined) checkCborDepth(bytes, maxDepth);
  try {
    return cbor.decode(bytes) as T;
  } catch (err) {
    throw new PagletError("malformed_cbor", `Malformed CBOR: ${(err as Error).message}`);
  }
}

/** The count of an open indefinite-length array (a break byte, 0xff, ends it). */
const OPEN_ARRAY = -1;
/** The count of an open indefinite-length map whose next item is a key (a break may end it here). */
const OPEN_MAP_KEY = -2;
/** The count of an open indefinite-length map whose next item is a value. */
const OPEN_MAP_VALUE = -3;
/**
 * From this tag number on cbor-x reads its own records and string bundles, whose contents do not
 * follow CBOR's item structure (a string's head can stand for a count of items). No host writes them.
 */
const CBOR_X_RECORD_TAGS = 0xdff9;

/**
 * Fails with `malformed_cbor` when the first item of `bytes` nests arrays, maps and tags deeper
 * than `maxDepth` (each counts a level, as a JSON array or object does). One pass over the item
 * heads without recursion, skipping string contents by their length, that ends with the first item
 * (bytes after it are the decoder's to refuse). What the pass cannot measure as the decoder will
 * read it is refused here, since stopping there would leave the rest unmeasured: bytes that are not
 * well-formed CBOR (RFC 8949 §3: truncated, a reserved head, a misplaced break, an indefinite-length
 * string) and cbor-x's record tags.
 */
function checkCborDepth(bytes: Uint8Array, maxDepth: number): void {
  const end = bytes.length;
  /** Items still to read in the innermost open level (an array, a map's keys and values, a tag). */
  let count = 1; // the top level: one item
  /** The counts of the levels around it. */
  const outer: number[] = [];
  let depth = 0;
  let at = 0;
  // Every turn reads at least one byte: the loop ends within `end` turns.
  while (at < end) {
    const start = at;
    const initial = bytes[at++];
    const major = initial >> 5;
    const info = initial & 31;
    if (major <= 1 || major === 7) { // a number or a simple value: only its size matters
      if (info >= 24 && info <= 27) at += 1 << (info - 24);
      else if (info === 31 && major === 7) {
        if (count !== OPEN_ARRAY && count !== OPEN_MAP_KEY) {
          throw malformed(`a break (0xff) where no indefinite-length item may end, at byte ${start}`);
        }
        count = outer[--depth];
      } else if (info >= 24) throw malformed(`a reserved head (0x${initial.toString(16)}) at byte ${start}`);
    } else {
      let argument = info;
      if (info >= 24 && info <= 27) {
        const size = 1 << (info - 24);
        if (size > end - at) break;
        argument = 0;
        for (let i = 0; i < size; i++) argument = argument * 256 + bytes[at + i];
        at += size;
      } else if (info === 31 && (major === 4 || major === 5)) {
        argument = -1; // indefinite length
      } else if (info >= 24) {
        throw malformed(`a reserved or indefinite-length head (0x${initial.toString(16)}) at byte ${start}`);
      }
      if (major <= 3) { // a byte or text string
        if (argument > end - at) break;
        at += argument;
      } else { // an array, a map or a tag: one level deeper
        if (depth >= maxDepth) {
          throw new PagletError(
            "malformed_cbor",
            `CBOR nested deeper than ${maxDepth} levels (at byte ${start})`,
          );
        }
        if (major === 6 && argument >= CBOR_X_RECORD_TAGS) {
          throw malformed(`tag ${argument} (a cbor-x record or string bundle) at byte ${start}`);
        }
        const items = argument < 0
          ? (major === 4 ? OPEN_ARRAY : OPEN_MAP_KEY)
          : major === 4
          ? argument
          : major === 5
          ? argument * 2
          : 1;
        // Every item takes at least a byte.
        if (items > end - at) break;
        if (items !== 0) {
          outer[depth++] = count;
          count = items;
          continue;
        }
      }
    }
    if (at > end) break; // a number's bytes past the end
    // An item is complete: so is every level it was the last item of.
    for (;;) {
      if (count > 1) {
        count--;
        break;
      }
      if (count < 0) {
        if (count !== OPEN_ARRAY) count = count === OPEN_MAP_KEY ? OPEN_MAP_VALUE : OPEN_MAP_KEY;
        break;
      }
      if (depth === 0) return;
      count = outer[--depth];
    }
  }
  throw malformed(`the bytes end inside an item (${end} bytes)`);
}

function malformed(what: string): PagletError {
  return new PagletError("malformed_cbor", `Malformed CBOR: ${what}`);
}

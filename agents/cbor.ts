/**
 * CBOR (cbor-x) for movement envelopes, stored state and host-to-host messages: bigint,
 * Uint8Array, Date, Map and Set survive natively; bigints of any size travel as binary bignums
 * (see bignum.ts). Tagged JSON for the control API is in wire.ts.
 */
import { Encoder } from "./cbor_x.ts";
import { PagletError } from "./errors.ts";
import { installBignumDecoders, withBignums } from "./bignum.ts";

const cbor = new Encoder(
  { useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Encoder>[0],
);
installBignumDecoders();

/** Encodes a value as CBOR; bigints beyond 64 bits become bignums (tags 2/3) in linear time. */
export function encodeCbor(value: unknown): Uint8Array {
  return cbor.encode(withBignums(value));
}

/** Decodes CBOR; malformed input raises `malformed_cbor`. */
export function decodeCbor<T = unknown>(bytes: Uint8Array): T {
  try {
    return cbor.decode(bytes) as T;
  } catch (err) {
    throw new PagletError("malformed_cbor", `Malformed CBOR: ${(err as Error).message}`);
  }
}

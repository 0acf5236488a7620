/**
 * Value encodings on the wire.
 *
 * - Tagged JSON for the control API: bigint → `{"$bigint":"123"}`, bytes → `{"$bytes":"<base64>"}`,
 *   Date → `{"$date":"<iso>"}`. Everything else is plain JSON.
 * - CBOR (cbor-x) for movement envelopes and stored state: bigint, Uint8Array, Date, Map and Set
 *   survive natively.
 */
import { Encoder } from "cbor-x";
import { PagletError } from "./errors.ts";

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Encoder>[0]);

/** Encodes a value as CBOR. */
export function encodeCbor(value: unknown): Uint8Array {
  return cbor.encode(value);
}

/** Decodes CBOR; malformed input raises `malformed_cbor`. */
export function decodeCbor<T = unknown>(bytes: Uint8Array): T {
  try {
    return cbor.decode(bytes) as T;
  } catch (err) {
    throw new PagletError("malformed_cbor", `Malformed CBOR: ${(err as Error).message}`);
  }
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Converts a value into its tagged-JSON projection (a JSON-safe tree). */
export function toTagged(value: unknown): unknown {
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: bytesToBase64(value) };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toTagged(k), toTagged(v)]) };
  if (value instanceof Set) return { $set: [...value].map(toTagged) };
  if (Array.isArray(value)) return value.map(toTagged);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = toTagged(v);
    }
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  return value;
}

/** Restores tagged values inside a parsed JSON tree. */
export function fromTagged(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromTagged);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [key] = keys;
      const inner = obj[key];
      if (key === "$bigint" && typeof inner === "string" && /^-?\d+$/.test(inner)) return BigInt(inner);
      if (key === "$bytes" && typeof inner === "string") return base64ToBytes(inner);
      if (key === "$date" && typeof inner === "string") return new Date(inner);
      if (key === "$map" && Array.isArray(inner)) {
        return new Map(inner.map((pair) => [fromTagged(pair?.[0]), fromTagged(pair?.[1])]));
      }
      if (key === "$set" && Array.isArray(inner)) return new Set(inner.map(fromTagged));
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = fromTagged(obj[k]);
    return out;
  }
  return value;
}

/** JSON text with tagged values. */
export function stringifyTagged(value: unknown): string {
  return JSON.stringify(toTagged(value));
}

/** Parses JSON text and restores tagged values; malformed input raises `malformed_json`. */
export function parseTagged<T = unknown>(text: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PagletError("malformed_json", `Malformed JSON: ${(err as Error).message}`);
  }
  return fromTagged(parsed) as T;
}

/**
 * Checks that a value is plain data that can move and persist. Returns a path to the first
 * offending value, or null when the value is fine.
 */
export function findNonPlainData(value: unknown, path = "$", seen = new Set<unknown>()): string | null {
  if (value === null || value === undefined) return null;
  const t = typeof value;
  if (t === "string" || t === "boolean" || t === "bigint") return null;
  if (t === "number") return Number.isFinite(value) ? null : `${path} (non-finite number)`;
  if (t === "function" || t === "symbol") return `${path} (${t})`;
  if (value instanceof Uint8Array || value instanceof Date) return null;
  if (seen.has(value)) return `${path} (cycle)`;
  seen.add(value);
  try {
    if (value instanceof Map) {
      for (const [k, v] of value) {
        const bad = findNonPlainData(k, `${path}<key>`, seen) ?? findNonPlainData(v, `${path}.get(${String(k)})`, seen);
        if (bad) return bad;
      }
      return null;
    }
    if (value instanceof Set) {
      for (const v of value) {
        const bad = findNonPlainData(v, `${path}<item>`, seen);
        if (bad) return bad;
      }
      return null;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const bad = findNonPlainData(value[i], `${path}[${i}]`, seen);
        if (bad) return bad;
      }
      return null;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return `${path} (instance of ${proto?.constructor?.name ?? "?"})`;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const bad = findNonPlainData(v, `${path}.${k}`, seen);
      if (bad) return bad;
    }
    return null;
  } finally {
    seen.delete(value);
  }
}

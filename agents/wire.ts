/**
 * Tagged JSON for the control API: bigint → `{"$bigint":"123"}`, bytes → `{"$bytes":"<base64>"}`,
 * Date → `{"$date":"<iso>"}`. Everything else is plain JSON. CBOR, for movement envelopes, stored
 * state and host-to-host messages, is in cbor.ts (apart, so that the CLI does not load cbor-x).
 */
import { PagletError } from "./errors.ts";

/** The media type of CBOR bodies (a message's body and answer may be CBOR, see cbor.ts). */
export const CBOR_TYPE = "application/cbor";

/** The header of an event stream's answer naming how often (ms) an idle stream gets a keepalive. */
export const KEEPALIVE_HEADER = "x-paglets-keepalive-ms";

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

/** Deeper JSON is refused: restoring it would exhaust the stack. */
const MAX_DEPTH = 512;

function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  // `out["__proto__"] = v` would replace the prototype instead of adding a key.
  if (key === "__proto__") {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else out[key] = value;
}

/**
 * The keys that make an object of one key a tag. A plain object of one such key travels escaped,
 * as `{"$obj": {…}}`, or it would be read back as the tag it looks like.
 */
const TAG_KEYS = new Set(["$bigint", "$bytes", "$date", "$map", "$set", "$obj"]);

/** Whether an object's only own key is a tag's. */
function looksLikeTag(value: object): boolean {
  let only: string | undefined;
  for (const key in value) {
    if (only !== undefined) return false;
    only = key;
  }
  return only !== undefined && TAG_KEYS.has(only);
}

/** Converts a value into its tagged-JSON projection (a JSON-safe tree). */
export function toTagged(value: unknown): unknown {
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: bytesToBase64(value) };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : { $date: value.toISOString() };
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toTagged(k), toTagged(v)]) };
  if (value instanceof Set) return { $set: [...value].map(toTagged) };
  if (Array.isArray(value)) return value.map(toTagged);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) setOwn(out, k, toTagged(v));
    }
    return looksLikeTag(out) ? { $obj: out } : out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  return value;
}

/** A short rendering of a value for an error message. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function restore(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) {
    throw new PagletError("malformed_json", `JSON nested deeper than ${MAX_DEPTH} levels`);
  }
  if (Array.isArray(value)) return value.map((v) => restore(v, depth + 1));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [key] = keys;
      const inner = obj[key];
      if (key === "$bigint") {
        if (typeof inner === "string" && /^-?\d+$/.test(inner)) return BigInt(inner);
        throw new PagletError(
          "malformed_json",
          `A $bigint value must be a string of digits: got ${shown(inner)}`,
        );
      }
      if (key === "$bytes") {
        if (typeof inner !== "string") {
          throw new PagletError(
            "malformed_json",
            `A $bytes value must be a base64 string: got ${shown(inner)}`,
          );
        }
        try {
          return base64ToBytes(inner);
        } catch {
          throw new PagletError("malformed_json", "A $bytes value is not valid base64");
        }
      }
      if (key === "$date") {
        if (typeof inner !== "string") {
          throw new PagletError(
            "malformed_json",
            `A $date value must be an ISO date string: got ${shown(inner)}`,
          );
        }
        const date = new Date(inner);
        if (Number.isNaN(date.getTime())) {
          throw new PagletError("malformed_json", `Invalid $date '${inner.slice(0, 40)}'`);
        }
        return date;
      }
      if (key === "$map") {
        if (!Array.isArray(inner) || !inner.every((pair) => Array.isArray(pair) && pair.length === 2)) {
          throw new PagletError(
            "malformed_json",
            `A $map value must be a list of [key, value] pairs: got ${shown(inner)}`,
          );
        }
        return new Map(inner.map((pair) => [restore(pair[0], depth + 1), restore(pair[1], depth + 1)]));
      }
      if (key === "$set") {
        if (!Array.isArray(inner)) {
          throw new PagletError("malformed_json", `A $set value must be a list: got ${shown(inner)}`);
        }
        return new Set(inner.map((v) => restore(v, depth + 1)));
      }
      if (key === "$obj") {
        // An object that looks like a tag, escaped: its own key is not read as one.
        if (inner === null || typeof inner !== "object" || Array.isArray(inner)) {
          throw new PagletError("malformed_json", `A $obj value must be an object: got ${shown(inner)}`);
        }
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(inner)) setOwn(out, k, restore(v, depth + 1));
        return out;
      }
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) setOwn(out, k, restore(obj[k], depth + 1));
    return out;
  }
  return value;
}

/** Restores tagged values inside a parsed JSON tree. */
export function fromTagged(value: unknown): unknown {
  return restore(value, 0);
}

/** Is there a tag (`{"$…": …}` with one key) in a parsed tree? Fails past MAX_DEPTH. */
function hasTags(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (depth > MAX_DEPTH) {
    throw new PagletError("malformed_json", `JSON nested deeper than ${MAX_DEPTH} levels`);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasTags(value[i], depth + 1)) return true;
    return false;
  }
  let keys = 0;
  let first = "";
  for (const key in value) {
    if (keys++ === 0) first = key;
    if (hasTags((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return keys === 1 && first.startsWith("$");
}

/**
 * Does a value hold anything JSON cannot carry as it is (bigint, bytes, dates, maps, sets,
 * non-finite numbers, a `__proto__` key)? A walk without allocations: most replies need no tags,
 * and copying them on every message was measurable.
 */
function needsTags(value: unknown, depth: number): boolean {
  if (value === null || depth > MAX_DEPTH) return depth > MAX_DEPTH;
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return false;
    case "number":
      return !Number.isFinite(value);
    case "object":
      break;
    default:
      return true;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (needsTags(value[i], depth + 1)) return true;
    return false;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return true;
  let keys = 0;
  let first = "";
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue; // JSON leaves it out, so it does not count as a key
    if (keys++ === 0) first = key;
    if (key === "__proto__" || needsTags(v, depth + 1)) return true;
  }
  // An object of one tag's key (`{"$date": 5}` as data) is escaped.
  return keys === 1 && TAG_KEYS.has(first);
}

/** JSON text with tagged values. */
export function stringifyTagged(value: unknown): string {
  return JSON.stringify(needsTags(value, 0) ? toTagged(value) : value);
}

/** Parses JSON text and restores tagged values; malformed input raises `malformed_json`. */
export function parseTagged<T = unknown>(text: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PagletError("malformed_json", `Malformed JSON: ${(err as Error).message}`);
  }
  return untagged<T>(parsed);
}

/**
 * The answer's value. Text that is no JSON at all is the answering server's fault, not the
 * caller's: not `malformed_json` (which says the request was bad) but `host_unreachable` (502):
 * what answered at that URL is no paglets host, or not a working one.
 */
export function answerOf<T>(text: string, request: string): T {
  if (!text) return {} as T;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PagletError(
      "host_unreachable",
      `${request} answered with what is no JSON (${(err as Error).message}): is a paglets host at that URL?`,
    );
  }
  return untagged<T>(parsed);
}

/** A parsed JSON tree with its tagged values restored; a tag that does not decode raises `malformed_json`. */
export function untagged<T = unknown>(parsed: unknown): T {
  // JSON.parse defines keys (a "__proto__" key stays a key): an untagged tree is used as it is.
  return (hasTags(parsed, 0) ? fromTagged(parsed) : parsed) as T;
}

/**
 * Checks that a value is plain data that can move and persist. Returns a path to the first
 * offending value, or null when the value is fine.
 */
export function findNonPlainData(value: unknown): string | null {
  return isPlainData(value, 0) ? null : locateNonPlainData(value, "$", new Set(), 0);
}

/**
 * Throws `invalid_request` when `value` (a message's args, a new paglet's state) is not plain data:
 * sent as it is, a class instance would arrive as a bare object and a NaN as null. `action` says
 * what could not be done, `root` names the value in the path: "Cannot send message 'x' to ag_1:
 * args.point (instance of Point) is not plain data; …".
 */
export function requirePlainData(value: unknown, action: string, root: string): void {
  const bad = value === undefined ? null : findNonPlainData(value);
  if (bad !== null) {
    throw new PagletError(
      "invalid_request",
      `${action}: ${root}${bad.slice(1)} is not plain data; use plain objects, arrays, strings, ` +
        `finite numbers, booleans, null, bigints, bytes, dates, maps and sets`,
    );
  }
}

/** The quick check behind findNonPlainData: no allocation, cycles end at MAX_DEPTH. */
function isPlainData(value: unknown, depth: number): boolean {
  if (value === null || value === undefined) return true;
  switch (typeof value) {
    case "string":
    case "boolean":
    case "bigint":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      break;
    default:
      return false;
  }
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainData(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const key in value) {
      if (!isPlainData((value as Record<string, unknown>)[key], depth + 1)) return false;
    }
    return true;
  }
  if (value instanceof Uint8Array || value instanceof Date) return true;
  if (value instanceof Map) {
    for (const [k, v] of value) if (!isPlainData(k, depth + 1) || !isPlainData(v, depth + 1)) return false;
    return true;
  }
  if (value instanceof Set) {
    for (const v of value) if (!isPlainData(v, depth + 1)) return false;
    return true;
  }
  return false;
}

function locateNonPlainData(value: unknown, path: string, seen: Set<unknown>, depth: number): string | null {
  if (value === null || value === undefined) return null;
  const t = typeof value;
  if (t === "string" || t === "boolean" || t === "bigint") return null;
  if (t === "number") return Number.isFinite(value) ? null : `${path} (non-finite number)`;
  if (t === "function" || t === "symbol") return `${path} (${t})`;
  if (value instanceof Uint8Array || value instanceof Date) return null;
  if (seen.has(value)) return `${path} (cycle)`;
  if (depth > MAX_DEPTH) return `${path.slice(0, 80)}… (nested deeper than ${MAX_DEPTH} levels)`;
  seen.add(value);
  try {
    if (value instanceof Map) {
      for (const [k, v] of value) {
        const bad = locateNonPlainData(k, `${path}<key>`, seen, depth + 1) ??
          locateNonPlainData(v, `${path}.get(${String(k)})`, seen, depth + 1);
        if (bad) return bad;
      }
      return null;
    }
    if (value instanceof Set) {
      for (const v of value) {
        const bad = locateNonPlainData(v, `${path}<item>`, seen, depth + 1);
        if (bad) return bad;
      }
      return null;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const bad = locateNonPlainData(value[i], `${path}[${i}]`, seen, depth + 1);
        if (bad) return bad;
      }
      return null;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      return `${path} (instance of ${proto?.constructor?.name ?? "?"})`;
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const bad = locateNonPlainData(v, `${path}.${k}`, seen, depth + 1);
      if (bad) return bad;
    }
    return null;
  } finally {
    seen.delete(value);
  }
}

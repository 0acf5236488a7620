/**
 * What a host may publish in its mesh record (docs/mesh.md#limits): one definition for the gossip
 * schema (protocol.ts), which refuses a record past these limits, and for the host's options
 * (options.ts, `paglets host`), which refuse them at start, so that a host never publishes a record
 * its peers refuse.
 *
 * @example
 * ```ts
 * checkLength("--tag", "gpu", RECORD_LIMITS.tag); // fine
 * publishedUrl("HTTP://Lab.LAN:8765/"); // "http://lab.lan:8765"
 * ```
 */
import { PagletError } from "../../agents/errors.ts";

export const RECORD_LIMITS = {
  /** Characters of the mesh version (at least one). */
  meshVersion: 200,
  /** Characters of one tag. */
  tag: 100,
  /** Tags of one host. */
  tags: 100,
  /** Characters of a property's key. */
  propertyKey: 200,
  /** Characters of a property's value. */
  propertyValue: 2000,
  /** Characters of the host's URL. */
  url: 2048,
} as const;

/** A host name: letters, digits, '.', '_' or '-', at most 63, the first a letter or a digit. */
export const HOST_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A base URL as hosts publish it: `http://` or `https://` (lower case), a host, a path without spaces. */
export const BASE_URL_PATTERN = /^https?:\/\/[^\s/]+(\/\S*)?$/;

/** Fails `invalid_request` naming `what` when `text` has more than `max` characters. */
export function checkLength(what: string, text: string, max: number): void {
  if (text.length > max) {
    throw new PagletError(
      "invalid_request",
      `${what} must be at most ${max} characters (the mesh refuses a host record with more): ` +
        `'${text.slice(0, 20)}…' has ${text.length}`,
    );
  }
}

/** Fails `invalid_request` naming `what` when there are more than {@link RECORD_LIMITS.tags} tags. */
export function checkTagCount(what: string, count: number): void {
  if (count > RECORD_LIMITS.tags) {
    throw new PagletError(
      "invalid_request",
      `${what}: a host has at most ${RECORD_LIMITS.tags} tags (the mesh refuses a host record with more): got ${count}`,
    );
  }
}

/**
 * `url` as the mesh gets it: scheme and host in lower case, default port and trailing slashes
 * dropped, path kept (as URL parsing and `baseUrl` in remote_router.ts do); null when it is no
 * http(s) URL with a host. Its length is for {@link checkLength} to check.
 */
export function publishedUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return null;
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.hostname === "") return null;
  const out = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, "");
  return BASE_URL_PATTERN.test(out) ? out : null;
}

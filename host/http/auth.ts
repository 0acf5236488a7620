/** Bearer API-key auth: constant-time comparison, checked before any body is read. */
import { PagletError } from "../../agents/errors.ts";
import { errorResponse } from "./body.ts";

const encoder = new TextEncoder();

/** Compares two strings in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i % (x.length || 1)] ?? 0) ^ (y[i % (y.length || 1)] ?? 0);
  return diff === 0;
}

/** Checks `Authorization: Bearer KEY`; returns the 401 answer, or null when the request may pass. */
export function checkBearer(key: string, header: string | undefined): Response | null {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) {
    return errorResponse(
      new PagletError("unauthorized", "An API key is required: send Authorization: Bearer KEY"),
    );
  }
  if (!constantTimeEqual(match[1].trim(), key)) {
    return errorResponse(new PagletError("unauthorized", "The API key is wrong"));
  }
  return null;
}

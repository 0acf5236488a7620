/** Helpers of the kernel suites: raw HTTP answers (status and JSON) and hosts with the kernel fixtures. */
import type { HostClient } from "../../host/client.ts";
import type { HostOptions } from "../../host/options.ts";
import { KERNEL_FIXTURES } from "../fixtures/kernel_paglets.ts";
import { type TestHost, testHost } from "../helpers/in_process.ts";

export { KERNEL_FIXTURES };

/** An HTTP answer: status and parsed JSON body (null when the body is not JSON). */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** The documented error body. */
export type ErrorBody = { error: { code: string; message: string } };

/**
 * Calls the API without throwing on error answers. `body` is sent as JSON unless it is a string
 * or bytes (sent as they are).
 */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" || body instanceof Uint8Array || body instanceof ReadableStream
      ? body as BodyInit
      : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch { /* not JSON */ }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** A test host that also knows the kernel fixture paglets. */
export function fixtureHost(options: Partial<HostOptions> = {}): Promise<TestHost> {
  return testHost({ ...options, modules: [KERNEL_FIXTURES, ...(options.modules ?? [])] });
}

/** A recorded event as the tests read it. */
export interface RecordedEvent {
  kind: string;
  agentId?: string;
  error?: string;
  data: Record<string, unknown>;
}

/** The host's recorded events of `kind` (its last 1,000). */
export async function eventsOf(client: HostClient, kind: string): Promise<RecordedEvent[]> {
  const { events } = await client.events(0, 1000);
  return events.filter((e) => e.kind === kind) as unknown as RecordedEvent[];
}

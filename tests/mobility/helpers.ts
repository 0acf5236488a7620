/** Shared setup of the mobility tests: real host processes loading the mobility fixtures. */
import { type HostProcess, startHost, type StartOptions } from "../helpers/host_process.ts";
import { concat } from "../../agents/bytes.ts";
import { encodeCbor } from "../../agents/cbor.ts";
import {
  byteStringHeader,
  encodeTransferHead,
  type TransferEnvelope,
} from "../../host/transfers/envelope.ts";

export const TRAVELLER_MODULE = new URL("../fixtures/mobile_paglets.ts", import.meta.url).href;
export const HOMEBODY_MODULE = new URL("../fixtures/local_only_paglet.ts", import.meta.url).href;

/** A host process that knows the traveller fixtures (plus `extraArgs`). */
export function startMobileHost(name: string, options: Partial<StartOptions> = {}): Promise<HostProcess> {
  return startHost({
    ...options,
    name,
    args: ["--module", TRAVELLER_MODULE, "--workers", "1", ...(options.args ?? [])],
  });
}

/** Agent ids on a host (any status). */
export async function agentIds(host: HostProcess): Promise<string[]> {
  const { agents } = await host.client.listAgents();
  return agents.map((a) => String(a.id));
}

/** Events of a traveller as it reports them. */
export async function travellerEvents(host: HostProcess, id: string): Promise<string[]> {
  const state = await host.client.send(id, { kind: "get" }) as { events: string[] };
  return state.events;
}

/** Lists a directory's entries (empty when it does not exist). */
export async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/**
 * A transfer envelope as a source would send it for a new `test.traveller` (a fresh transfer id and
 * agent id, no files), with `over` and `agent` laid over it.
 */
export function testEnvelope(
  over: Partial<TransferEnvelope> = {},
  agent: Partial<TransferEnvelope["agent"]> = {},
): TransferEnvelope {
  const transferId = `tr_test${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  return {
    transferId,
    kind: "dispatch",
    agent: {
      id: `ag_test${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`,
      type: "test.traveller",
      state: encodeCbor({ events: [], count: 1, filesAtArrival: {}, big: 12345678901234567890n }),
      createdAt: Date.now(),
      meta: {},
      ...agent,
    },
    source: { name: "tester", url: "http://127.0.0.1:9" },
    meshVersion: "dev",
    arrivalMode: "active",
    files: [],
    sentAt: Date.now(),
    ...over,
  };
}

/** The SHA-256 of `bytes`, in lowercase hex. */
export async function sha256Of(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The body of `POST /v1/transfers` carrying `env` and the content of its files. */
export function transferBytes(env: TransferEnvelope, files: Uint8Array[] = []): Uint8Array {
  return concat([encodeTransferHead(env), ...files.flatMap((f) => [byteStringHeader(f.length), f])]);
}

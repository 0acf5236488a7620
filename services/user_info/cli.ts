/**
 * `paglets follow`: prints the entry host's user notifications as they arrive (and streamed
 * output), until Ctrl-C. `--since` replays kept notifications first; `--json` prints JSON lines.
 *
 * @module
 */
import type { Command } from "../../cli/command.ts";
import { KEEPALIVE_HEADER, parseTagged } from "../../agents/wire.ts";
import { PagletError } from "../../agents/errors.ts";
import { networkOptions } from "../../cli/agents_command.ts";
import { entryClient, type EntryOptions } from "../../cli/entry.ts";
import { pc } from "../../cli/output.ts";
import type { HostClient } from "../../host/client.ts";
import { ServiceClient } from "../client.ts";
import {
  type Notification,
  Recent,
  USER_NOTIFY_EVENT,
  USER_STREAM_EVENT,
  UserInfoContract,
} from "./contract.ts";
import { formatNotification } from "./format.ts";
import { endWhenSilent, readServerSentEvents } from "./sse.ts";
import { cancel, later } from "../../agents/timers.ts";

/** Options of {@link follow}. */
export interface FollowOptions extends EntryOptions {
  json?: boolean;
  /** A notification id, `all`, or a duration such as `90s`, `10m`, `2h`, `1d`. */
  since?: string;
  /** Also print streamed output (`user-stream`). @default true */
  stream?: boolean;
}

/** Parses `--since`: `{ id }` for a number or `all`, `{ time }` for a duration back from now. */
export function parseSince(text: string, now = Date.now()): { since: number; sinceTime: number } {
  const t = text.trim().toLowerCase();
  if (t === "all") return { since: 0, sinceTime: 0 };
  if (/^\d+$/.test(t)) return { since: Number(t), sinceTime: 0 };
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(t);
  if (!m) {
    throw new PagletError(
      "invalid_request",
      `--since must be a notification id, 'all' or a duration like 10m: current value is '${text}'`,
    );
  }
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
  return { since: 0, sinceTime: now - Number(m[1]) * unit };
}

export function registerFollowCommand(program: Command): void {
  networkOptions(
    program.command("follow").description(
      "Print user notifications of the entry host as they arrive (Ctrl-C ends)",
    ),
  )
    .option("--since <when>", "replay kept notifications first: an id, 'all', or a duration like 10m")
    .option("--no-stream", "hide streamed output (user-stream events)")
    .action(async (o: FollowOptions) => {
      const ctrlC = new AbortController();
      const onSignal = () => ctrlC.abort();
      Deno.addSignalListener("SIGINT", onSignal);
      Deno.addSignalListener("SIGTERM", onSignal);
      try {
        await follow(o, ctrlC.signal);
      } finally {
        Deno.removeSignalListener("SIGINT", onSignal);
        Deno.removeSignalListener("SIGTERM", onSignal);
      }
      // A removed signal listener keeps the runtime alive for a moment; Ctrl-C should end at once.
      if (ctrlC.signal.aborted) Deno.exit(0);
    });
}

/** Follows the entry host's user events until `signal` aborts. */
export async function follow(o: FollowOptions, signal?: AbortSignal): Promise<void> {
  const client = entryClient(o);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (signal?.aborted) return;
  signal?.addEventListener("abort", onSignal);
  const out = new Printer(o);
  try {
    // Where the live stream starts: the event log's end now, so nothing falls between replay and live.
    let cursor = await logEnd(client);
    if (o.since !== undefined) await replay(client, parseSince(o.since), out);
    let connected = false;
    // Said once per outage, not once per retry: "lost" or "stopped", then "reconnected".
    let away = false;
    while (!stop.signal.aborted) {
      let stopped = false;
      try {
        const body = await openStream(client, cursor, stop.signal);
        connected = true;
        if (away && !o.json) console.error(pc.dim(`reconnected to ${client.baseUrl}`));
        away = false;
        for await (const event of readServerSentEvents(body)) {
          if (event.id) cursor = Number(event.id);
          if (event.event === HOST_STOPPING_EVENT) stopped = true;
          else out.event(event.event, parseTagged(event.data) as { data?: Record<string, unknown> });
        }
      } catch (err) {
        if (stop.signal.aborted) break;
        if (!connected) throw err;
      }
      if (stop.signal.aborted) break;
      if (!away && !o.json) {
        out.endLine();
        console.error(pc.dim(
          stopped
            ? `the host at ${client.baseUrl} stopped; waiting for it to come back (Ctrl-C ends) ...`
            : `connection to ${client.baseUrl} lost; reconnecting ...`,
        ));
      }
      away = true;
      await sleep(1000, stop.signal);
    }
  } finally {
    out.endLine();
    signal?.removeEventListener("abort", onSignal);
  }
}

/**
 * The id of the host's latest event. `GET /v1/events` answers the latest id as `lastId` when the
 * limit did not cut the answer: asked for events after an id no event has yet, it answers none.
 */
async function logEnd(client: HostClient): Promise<number> {
  return (await client.events(Number.MAX_SAFE_INTEGER, 1)).lastId;
}

/** The last event of a stream that ends because its host stops (host/http/event_routes.ts). */
const HOST_STOPPING_EVENT = "host-stopping";

/** Opens the SSE stream of user events after `cursor`; Ctrl-C (the signal) ends it. */
async function openStream(
  client: HostClient,
  cursor: number,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const path = `/v1/events/stream?kind=${USER_NOTIFY_EVENT},${USER_STREAM_EVENT}&since=${cursor}`;
  const res = await client.fetch("GET", path, { headers: { accept: "text/event-stream" }, signal });
  if (!res.body) throw new PagletError("internal", `GET ${client.baseUrl}${path} answered without a body`);
  // Lost when three keepalives in a row do not come (the host names their interval).
  const keepaliveMs = Number(res.headers.get(KEEPALIVE_HEADER)) || DEFAULT_KEEPALIVE_MS;
  return endWhenSilent(res.body, 3 * keepaliveMs);
}

/** The keepalive interval of a host that does not name its own. */
const DEFAULT_KEEPALIVE_MS = 15_000;

async function replay(
  client: HostClient,
  from: { since: number; sinceTime: number },
  out: Printer,
): Promise<void> {
  const services = new ServiceClient(client);
  let since = from.since;
  while (true) {
    const page = await services.call(UserInfoContract.name, Recent, {
      since,
      sinceTime: from.sinceTime,
      limit: 1000,
    });
    for (const n of page.notifications) out.notification(n);
    if (page.notifications.length < 1000) return;
    since = page.notifications[page.notifications.length - 1].id;
  }
}

/**
 * Prints notifications and streamed text once each (replay and live may overlap). Streamed text
 * that stopped mid-line is ended with a newline before a notification or status line is printed.
 */
class Printer {
  readonly #json: boolean;
  readonly #stream: boolean;
  readonly #printed = new Set<string>();
  readonly #encoder = new TextEncoder();
  /** The outputs whose streamed text did not end with a newline. */
  readonly #openLines = new Set<typeof Deno.stdout | typeof Deno.stderr>();

  constructor(o: FollowOptions) {
    this.#json = !!o.json;
    this.#stream = o.stream !== false;
  }

  event(kind: string, event: { data?: Record<string, unknown> }): void {
    if (kind === USER_NOTIFY_EVENT && event.data) this.notification(event.data as Notification);
    else if (kind === USER_STREAM_EVENT && event.data && this.#stream) {
      const { text, target, streamId, hostName } = event.data as {
        text: string;
        target: string;
        streamId: string;
        hostName: string;
      };
      if (this.#json) return this.#line({ kind: "stream", streamId, target, text, hostName });
      const chunk = String(text);
      if (chunk === "") return;
      const output = target === "stderr" ? Deno.stderr : Deno.stdout;
      writeAll(output, this.#encoder.encode(chunk));
      if (chunk.endsWith("\n")) this.#openLines.delete(output);
      else this.#openLines.add(output);
    }
  }

  /** Ends streamed text that stopped mid-line, so that the next line starts on a line of its own. */
  endLine(): void {
    for (const output of this.#openLines) writeAll(output, this.#encoder.encode("\n"));
    this.#openLines.clear();
  }

  notification(n: Notification): void {
    const key = `${n.id}:${n.at}`;
    if (this.#printed.has(key)) return;
    this.#printed.add(key);
    if (this.#printed.size > 5000) this.#printed.delete(this.#printed.values().next().value!);
    if (this.#json) return this.#line({ kind: "notify", ...n });
    this.endLine();
    const line = formatNotification(n);
    console.log(n.severity === "error" ? pc.red(line) : n.severity === "warning" ? pc.yellow(line) : line);
  }

  #line(value: unknown): void {
    console.log(JSON.stringify(value));
  }
}

/** Writes all of `bytes` (one `writeSync` may write only part of them). */
function writeAll(output: typeof Deno.stdout | typeof Deno.stderr, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += output.writeSync(bytes.subarray(at));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = later(ms, done);
    function done() {
      cancel(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

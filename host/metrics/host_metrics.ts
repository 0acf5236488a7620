/**
 * The kernel's metrics: HTTP requests by route template, agents by status and type, mailboxes,
 * deliveries, durability failures, events, travelling code, transfers and the process. Services
 * and extensions add theirs to the same registry (`host.metrics`).
 */
import type { Context, Next } from "hono";
import { matchedRoutes } from "hono/route";
import type { AgentRuntime } from "../kernel/agent_runtime.ts";
import type { DurabilityFailures } from "../kernel/durability.ts";
import type { AgentStore } from "../storage/agent_store.ts";
import { processMetrics } from "./process.ts";
import { type Counter, MetricsRegistry } from "./registry.ts";

/** Request durations: from a fast local answer to a long wait for a reply. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface KernelParts {
  store: AgentStore;
  runtime: AgentRuntime;
  durability: DurabilityFailures;
  events: { lastId: number };
  startedAt: number;
}

/** The methods counted by name; any other is counted as `other`. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

export class HostMetrics {
  readonly registry = new MetricsRegistry();
  /** Transfers of agents between hosts, by direction (`in`, `out`) and outcome. */
  readonly transfers: Counter;
  /** Bytes of agents (state and registered files) sent to other hosts. */
  readonly transferBytes: Counter;
  /** Modules fetched from other hosts, by outcome (`loaded`, `failed`). */
  readonly codeFetches: Counter;
  readonly #requests: Counter;
  readonly #durations;
  /** Per (status, method, route template): a bounded set, as routes and statuses are. */
  readonly #recorders = new Map<string, (seconds: number) => void>();
  #process?: { stop(): void };

  constructor() {
    const r = this.registry;
    this.#requests = r.counter(
      "paglets_http_requests_total",
      "HTTP requests answered, by route template, method and status.",
      ["route", "method", "status"],
    );
    this.#durations = r.histogram(
      "paglets_http_request_duration_seconds",
      "Time to answer an HTTP request (until the answer's head), by route template and method.",
      ["route", "method"],
      DURATION_BUCKETS,
    );
    this.transfers = r.counter(
      "paglets_transfers_total",
      "Agent transfers (dispatch, clone, retract) by direction and outcome.",
      ["direction", "outcome"],
    );
    this.transferBytes = r.counter(
      "paglets_transfer_bytes_total",
      "Bytes of agent transfers sent to other hosts (state and registered files).",
      ["direction"],
    );
    this.codeFetches = r.counter(
      "paglets_code_fetches_total",
      "Modules of travelling code fetched from another host, by outcome.",
      ["outcome"],
    );
    // Every series at 0 from the start: a rate over a series that appears at its first event misses it.
    for (const outcome of ["acked", "refused", "unconfirmed"]) {
      this.transfers.inc({ direction: "out", outcome }, 0);
    }
    for (const outcome of ["stored", "refused"]) this.transfers.inc({ direction: "in", outcome }, 0);
    this.transferBytes.inc({ direction: "out" }, 0);
    for (const outcome of ["loaded", "rejected"]) this.codeFetches.inc({ outcome }, 0);
  }

  /** Hono middleware: counts and times every request by its route template (never by agent id). */
  readonly middleware = async (c: Context, next: Next): Promise<void> => {
    const started = performance.now();
    await next();
    const route = matchedRoutes(c).findLast((m) => m.method !== "ALL")?.path ?? "unmatched";
    this.recordRequest(route, c.req.method, c.res.status, started);
  };

  /**
   * Counts and times one answered request (`started`: its `performance.now()` on arrival). Routes
   * served in front of the Hono app (http/message_route.ts) record here directly.
   */
  recordRequest(route: string, anyMethod: string, status: number, started: number): void {
    // A method is whatever word a client sends: any other than HTTP's own is one series, or clients
    // (keyless ones too: refusals count) could add series, and memory, without end.
    const method = METHODS.has(anyMethod) ? anyMethod : "other";
    // One lookup per request: the series of a (route, method, status) are found once and kept.
    const key = `${status} ${method} ${route}`;
    let record = this.#recorders.get(key);
    if (!record) {
      const count = this.#requests.handle({ route, method, status });
      const time = this.#durations.handle({ route, method });
      record = (seconds) => {
        count.inc();
        time.observe(seconds);
      };
      this.#recorders.set(key, record);
    }
    record((performance.now() - started) / 1000);
  }

  /** The kernel's table-backed families, read at scrape time. */
  watchKernel(k: KernelParts): void {
    const r = this.registry;
    this.#process = processMetrics(r);
    const agents = r.gauge("paglets_agents", "Agent records on this host by status and type.", [
      "status",
      "type",
    ]);
    const live = r.gauge("paglets_agents_live", "Agents running in this host's workers.");
    const delivered = r.counter(
      "paglets_messages_delivered_total",
      "Messages agents' handlers answered on this host since it started.",
    );
    const failed = r.counter(
      "paglets_messages_failed_total",
      "Messages whose handling failed on this host since it started (the handler threw or did not handle it, its worker was lost).",
    );
    const depth = r.gauge("paglets_mailbox_depth", "Messages waiting in the mailboxes of live agents.");
    const failures = r.counter(
      "paglets_durability_failures_total",
      "Failures that may have lost durable state, by kind.",
      ["kind"],
    );
    const events = r.counter("paglets_events_total", "Host events emitted.");
    const uptime = r.gauge("paglets_uptime_seconds", "Seconds since the host started.");
    const retrying = r.gauge(
      "paglets_retrying_starts",
      "Agents asleep on this host whose start failed and is tried again while it runs, by kind: a timed wake-up (wake), a restore waiting for its code (restore).",
      ["kind"],
    );
    r.collect(async () => {
      agents.clear();
      for (const row of await k.store.countByStatusAndType()) agents.set(row, row.n);
      live.set({}, k.runtime.liveCount);
      const totals = k.runtime.mailboxTotals();
      delivered.setTotal({}, totals.delivered);
      failed.setTotal({}, totals.failed);
      depth.set({}, totals.queued);
      for (const [kind, n] of Object.entries(k.durability.counts())) failures.setTotal({ kind }, n);
      events.setTotal({}, k.events.lastId);
      uptime.set({}, Math.round((Date.now() - k.startedAt) / 1000));
      const { wakes, restores } = k.runtime.retryingStarts();
      retrying.set({ kind: "wake" }, wakes);
      retrying.set({ kind: "restore" }, restores);
    });
  }

  stop(): void {
    this.#process?.stop();
  }
}

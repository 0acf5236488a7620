/**
 * The host's Prometheus families, on a registry of its own (several hosts share a process in
 * tests). Counters are incremented where the thing happens, by the module that owns it, through
 * the small methods here; gauges that mirror tables or live state are read at scrape time from
 * the sources the host passes in.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "./process.ts";

/** Read at scrape time; each source belongs to the module that owns the state. */
export interface MetricSources {
  agentsByStatusAndType(): Promise<{ status: string; type: string; n: number }[]>;
  mailboxQueued(): number;
  durabilityFailures(): Record<string, number>;
  eventsEmitted(): number;
  uptimeSeconds(): number;
}

/** Route label of requests no route matched: unknown paths never become label values. */
export const UNMATCHED_ROUTE = "unmatched";

export class HostMetrics {
  readonly registry = new Registry();
  readonly #httpRequests: Counter<"route" | "method" | "status">;
  readonly #httpDuration: Histogram<"route" | "method">;
  readonly #delivered: Counter;
  readonly #stopSampler: () => void;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.#httpRequests = new Counter({
      name: "paglets_http_requests_total",
      help: "HTTP requests answered, by route template, method and status.",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: "paglets_http_request_duration_seconds",
      help: "Time to answer an HTTP request (until the response head), by route template and method.",
      labelNames: ["route", "method"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.#delivered = new Counter({
      name: "paglets_messages_delivered_total",
      help: "Messages handled by agents on this host since it started.",
      registers,
    });
    new Gauge({
      name: "paglets_mailbox_queued",
      help: "Messages waiting in the mailboxes of the live agents.",
      registers,
      collect() {
        this.set(sources.mailboxQueued());
      },
    });
    new Gauge({
      name: "paglets_agents",
      help: "Agents recorded on this host, by status and type.",
      labelNames: ["status", "type"],
      registers,
      async collect() {
        this.reset();
        for (const row of await sources.agentsByStatusAndType()) {
          this.set({ status: row.status, type: row.type }, row.n);
        }
      },
    });
    new Counter({
      name: "paglets_durability_failures_total",
      help: "Failures that may have lost durable state, by kind.",
      labelNames: ["kind"],
      registers,
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(sources.durabilityFailures())) this.inc({ kind }, n);
      },
    });
    new Counter({
      name: "paglets_events_total",
      help: "Host events emitted since the host started.",
      registers,
      collect() {
        this.reset();
        this.inc(sources.eventsEmitted());
      },
    });
    new Gauge({
      name: "paglets_uptime_seconds",
      help: "Seconds since the host started.",
      registers,
      collect() {
        this.set(sources.uptimeSeconds());
      },
    });
    this.#stopSampler = registerProcessMetrics(this.registry);
  }

  /** One answered HTTP request; `route` is the matched template or UNMATCHED_ROUTE. */
  httpRequest(route: string, method: string, status: number, seconds: number): void {
    this.#httpRequests.inc({ route, method, status });
    this.#httpDuration.observe({ route, method }, seconds);
  }

  /** One message handled by an agent (called by the mailbox at delivery). */
  messageDelivered(): void {
    this.#delivered.inc();
  }

  /** The Prometheus text exposition of every family. */
  async exposition(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  close(): void {
    this.#stopSampler();
  }
}

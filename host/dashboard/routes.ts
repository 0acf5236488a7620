/** GET / (the dashboard page) and GET /metrics (Prometheus text). */
import type { Hono } from "hono";
import type { Host } from "../host.ts";
import { DASHBOARD_HTML } from "./page.ts";

export function dashboardRoutes(app: Hono, host: Host): void {
  app.get(
    "/",
    () => new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );

  app.get("/metrics", async () => {
    const counts = await host.store.countByStatus();
    const mailboxes = host.runtime.mailboxTotals();
    const lines = [
      "# HELP paglets_agents Agents on this host by status.",
      "# TYPE paglets_agents gauge",
      `paglets_agents{status="active"} ${host.runtime.liveCount}`,
      `paglets_agents{status="inactive"} ${counts.inactive ?? 0}`,
      `paglets_agents{status="crashed"} ${counts.crashed ?? 0}`,
      "# HELP paglets_messages_delivered_total Messages handled by live agents (since they became active).",
      "# TYPE paglets_messages_delivered_total counter",
      `paglets_messages_delivered_total ${mailboxes.delivered}`,
      "# HELP paglets_mailbox_queued Messages waiting in mailboxes of live agents.",
      "# TYPE paglets_mailbox_queued gauge",
      `paglets_mailbox_queued ${mailboxes.queued}`,
      "# HELP paglets_durability_failures_total Failures that may have lost durable state, by kind.",
      "# TYPE paglets_durability_failures_total counter",
      ...Object.entries(host.durability.counts()).map(([kind, n]) =>
        `paglets_durability_failures_total{kind="${kind}"} ${n}`
      ),
      "# HELP paglets_events_total Host events emitted.",
      "# TYPE paglets_events_total counter",
      `paglets_events_total ${host.events.lastId}`,
      "# HELP paglets_uptime_seconds Seconds since the host started.",
      "# TYPE paglets_uptime_seconds gauge",
      `paglets_uptime_seconds ${Math.round((Date.now() - host.startedAt) / 1000)}`,
    ];
    return new Response(lines.join("\n") + "\n", {
      headers: { "content-type": "text/plain; version=0.0.4" },
    });
  });
}

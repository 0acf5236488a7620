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
    const lines = [
      "# HELP paglets_agents Agents on this host by status.",
      "# TYPE paglets_agents gauge",
      `paglets_agents{status="active"} ${host.runtime.live.size}`,
      `paglets_agents{status="inactive"} ${counts.inactive ?? 0}`,
      `paglets_agents{status="crashed"} ${counts.crashed ?? 0}`,
      "# HELP paglets_messages_delivered_total Messages handled by live agents (since they became active).",
      "# TYPE paglets_messages_delivered_total counter",
      `paglets_messages_delivered_total ${
        [...host.runtime.live.values()].reduce((n, a) => n + a.mailbox.delivered, 0)
      }`,
      "# HELP paglets_mailbox_queued Messages waiting in mailboxes of live agents.",
      "# TYPE paglets_mailbox_queued gauge",
      `paglets_mailbox_queued ${[...host.runtime.live.values()].reduce((n, a) => n + a.mailbox.queued, 0)}`,
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

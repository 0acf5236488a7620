/**
 * compute-slots on /metrics: leases, queue and reserved cores now, and totals of grants,
 * redirects and step outcomes. Registered once per host; read from the running service at scrape
 * time (nothing while it is stopped).
 */
import type { MetricsRegistry } from "../../host/metrics/registry.ts";
import type { SlotService } from "./slot_service.ts";

export function registerSlotMetrics(registry: MetricsRegistry, current: () => SlotService | undefined): void {
  const leases = registry.gauge(
    "paglets_compute_slots_leases",
    "Leases held now (granted or running steps).",
  );
  const queued = registry.gauge(
    "paglets_compute_slots_queued",
    "Slot requests waiting in this host's queue.",
  );
  const reserved = registry.gauge(
    "paglets_compute_slots_reserved_cores",
    "CPU cores reserved by leases now.",
  );
  const free = registry.gauge("paglets_compute_slots_free_cores", "Eligible CPU cores free now.");
  const grants = registry.counter(
    "paglets_compute_slots_grants_total",
    "Slot requests granted: at once, or later from the queue.",
    ["when"],
  );
  const redirects = registry.counter(
    "paglets_compute_slots_redirects_total",
    "Slot requests sent to a peer with room: when asked, or later from the queue.",
    ["when"],
  );
  const steps = registry.counter("paglets_compute_slots_steps_total", "Compute steps by outcome.", [
    "outcome",
  ]);
  registry.collect(() => {
    const service = current();
    if (!service) return;
    const status = service.hostStatus();
    leases.set({}, status.activeLeases);
    queued.set({}, status.queueLength);
    reserved.set({}, status.reservedCpuCores);
    free.set({}, status.freeCpuCores);
    const c = service.counters;
    grants.setTotal({ when: "at-once" }, c.grantedAtOnce);
    grants.setTotal({ when: "from-queue" }, c.grantedFromQueue);
    redirects.setTotal({ when: "at-request" }, c.redirectedAtRequest);
    redirects.setTotal({ when: "from-queue" }, c.redirectedFromQueue);
    steps.setTotal({ outcome: "started" }, c.stepsStarted);
    steps.setTotal({ outcome: "succeeded" }, c.stepsSucceeded);
    steps.setTotal({ outcome: "failed" }, c.stepsFailed);
  });
}

/**
 * The `compute-slots` resident service: one {@linkcode SlotService} per host (eager, mesh scope),
 * its operations, and the context operation `compute.run` through which a paglet runs a compute
 * step under its lease (`PagletContext.runCompute`).
 *
 * @example
 * ```ts
 * import { Host } from "../../host/host.ts";
 * import { serviceExtension } from "../service_extension.ts";
 * import { computeSlotsService } from "./service.ts";
 *
 * const host = await Host.start({ name: "a", port: 0, dataDir: "/tmp/a" }, [
 *   serviceExtension([computeSlotsService({ sampleIntervalMs: 1000 })]),
 * ]);
 * ```
 *
 * @module
 */
import { PagletError } from "../../agents/errors.ts";
import { defineService, type ServiceDefinition } from "../contract.ts";
import { ComputeSlotsContract } from "./contract.ts";
import { listComputeJobs } from "./jobs_view.ts";
import { listGroups } from "./groups_view.ts";
import { computeSlotsConfig, type ComputeSlotsOptions } from "./service_config.ts";
import { SlotService } from "./slot_service.ts";
import { registerSlotMetrics } from "./metrics.ts";
import { reportRemovedJobs } from "./removed_jobs.ts";

export type { ComputeSlotsOptions };

/** The compute-slots service definition. */
export function computeSlotsService(options: ComputeSlotsOptions = {}): ServiceDefinition {
  const config = computeSlotsConfig(options);
  const definition = defineService(ComputeSlotsContract, async (host) => {
    const holder = host.keep("slot-service", () => ({ current: undefined as SlotService | undefined }));
    host.keep("slot-metrics", () => registerSlotMetrics(host.kernel.metrics.registry, () => holder.current));
    const slots = await SlotService.start(host, config);
    holder.current = slots;
    const stopReporting = reportRemovedJobs(host);
    return {
      handlers: {
        "request-slot": (request, call) => slots.requestSlot(request, call),
        "release-slot": ({ leaseId, agentId }) => ({ released: slots.releaseSlot(leaseId, agentId) }),
        status: (request) => slots.status(request),
        "candidate-hosts": (request) => slots.candidateHosts(request),
        "sync-status": ({ status }) => {
          slots.observePeer(status);
          return { status: slots.hostStatus() };
        },
        cancel: (filter) => slots.cancel(filter),
        "abort-step": ({ leaseId, agentId, tag }) => ({ aborted: slots.abortStep(leaseId, agentId, tag) }),
        jobs: (filter) => listComputeJobs(host, filter),
        groups: (request) => listGroups(host, request),
      },
      stop: async () => {
        stopReporting();
        if (holder.current === slots) holder.current = undefined;
        await slots.stop();
      },
    };
  }, {
    contextOps: (host) => ({
      "compute.run": (agentId: string, step: unknown) => {
        const slots = host.keep("slot-service", () => ({ current: undefined as SlotService | undefined }))
          .current;
        if (!slots) throw new PagletError("draining", "compute-slots is not running on this host");
        return slots.runStep(agentId, step);
      },
    }),
  });
  return definition;
}

/**
 * Tuning from the environment, for hosts started by the CLI: `PAGLETS_COMPUTE_SAMPLE_MS`,
 * `PAGLETS_COMPUTE_GOSSIP_MS`, `PAGLETS_COMPUTE_FANOUT`, `PAGLETS_COMPUTE_REDIRECT_COOLDOWN_MS`,
 * `PAGLETS_COMPUTE_BURST_LOAD_PER_CPU`, `PAGLETS_COMPUTE_USAGE_SAMPLE_MS`,
 * `PAGLETS_COMPUTE_ELASTIC` (`0` turns elastic affinity off), with the options `over` it that an
 * embedding program sets: one of `over` that is `undefined` is not set, and leaves the environment's.
 *
 * @example
 * ```ts
 * const env = (name: string) => name === "PAGLETS_COMPUTE_GOSSIP_MS" ? "300" : undefined;
 * computeSlotsOptionsFromEnv({ fanOut: 2, gossipIntervalMs: undefined }, env);
 * // { gossipIntervalMs: 300, fanOut: 2 }
 * ```
 */
export function computeSlotsOptionsFromEnv(
  over: ComputeSlotsOptions = {},
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): ComputeSlotsOptions {
  const num = (name: string, min = 0) => {
    const text = env(name);
    if (text === undefined || text === "") return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) {
      throw new PagletError(
        "invalid_request",
        `${name} must be a number >= ${min}: current value is '${text}'`,
      );
    }
    return value;
  };
  const elastic = env("PAGLETS_COMPUTE_ELASTIC");
  const options: ComputeSlotsOptions = {
    sampleIntervalMs: num("PAGLETS_COMPUTE_SAMPLE_MS", 1),
    gossipIntervalMs: num("PAGLETS_COMPUTE_GOSSIP_MS", 1),
    fanOut: num("PAGLETS_COMPUTE_FANOUT", 1),
    redirectCooldownMs: num("PAGLETS_COMPUTE_REDIRECT_COOLDOWN_MS"),
    burstLoadPerCpu: num("PAGLETS_COMPUTE_BURST_LOAD_PER_CPU"),
    usageSampleIntervalMs: num("PAGLETS_COMPUTE_USAGE_SAMPLE_MS", 1),
    ...(elastic === undefined || elastic === ""
      ? {}
      : { elasticAffinity: !/^(0|false|no|off)$/i.test(elastic) }),
  };
  return { ...setOnly(options), ...setOnly(over) };
}

/** `options` without the keys whose value is `undefined` (not set). */
function setOnly(options: ComputeSlotsOptions): ComputeSlotsOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** Shared bits of the service tests: hosts with short service timings and the caller paglet. */
import { examplesExtension } from "../../examples/extension.ts";
import type { Host } from "../../host/host.ts";
import { meshExtension } from "../../host/mesh/mesh_extension.ts";
import type { HostOptions } from "../../host/options.ts";
import { defaultServices, serviceExtension, servicesOf } from "../../services/mod.ts";
import type { ServiceRegistry } from "../../services/registry.ts";
import { type TestHost, testHost } from "../helpers/in_process.ts";

/** The module with `test.service-caller`, loaded into every worker. */
export const SERVICE_AGENTS = new URL("./fixtures/service_agents.ts", import.meta.url).href;

/** Lazy services stop after this long idle in these tests. */
export const SHORT_IDLE_MS = 300;

/** An in-process host with mesh + the default services, short idle timeout and fast sampling. */
export function serviceHost(options: Partial<HostOptions> = {}): Promise<TestHost> {
  return testHost({ modules: [SERVICE_AGENTS], gossipIntervalMs: 200, offlineAfterMs: 1500, ...options }, [
    // The demo types (demo.spinjob, demo.counter), as a host started by the CLI has them.
    examplesExtension(),
    meshExtension(),
    serviceExtension(defaultServices({ meshInfo: { sampleIntervalMs: 500, gossipIntervalMs: 300 } }), {
      idleTimeoutMs: SHORT_IDLE_MS,
    }),
  ]);
}

/** The registry of a host (fails the test when the services extension is missing). */
export function registryOf(host: Host): ServiceRegistry {
  const registry = servicesOf(host);
  if (!registry) throw new Error(`host ${host.name} runs no services extension`);
  return registry;
}

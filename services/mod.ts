/**
 * Resident services: the framework (contracts, registry, routes, client, host extension) and the
 * built-in services server-info, mesh-info and user-info.
 *
 * @example
 * ```ts
 * import { Host } from "../host/host.ts";
 * import { defaultServices, serviceExtension } from "./mod.ts";
 *
 * const host = await Host.start({ name: "a", port: 0, dataDir: "/tmp/a" }, [serviceExtension(defaultServices())]);
 * ```
 *
 * @module
 */
export * from "./contract.ts";
export * from "./registry.ts";
export * from "./service_host.ts";
export * from "./client.ts";
export * from "./directory.ts";
export * from "./service_extension.ts";
export { serverInfoService } from "./server_info/service.ts";
export { type MeshInfoOptions, meshInfoService } from "./mesh_info/service.ts";
export { type UserInfoOptions, userInfoService } from "./user_info/service.ts";

import type { ServiceDefinition } from "./contract.ts";
import { type MeshInfoOptions, meshInfoService } from "./mesh_info/service.ts";
import { serverInfoService } from "./server_info/service.ts";
import { type UserInfoOptions, userInfoService } from "./user_info/service.ts";
import type { ServiceExtensionOptions } from "./service_extension.ts";

/** Options of {@link defaultServices}. */
export interface DefaultServicesOptions {
  meshInfo?: MeshInfoOptions;
  userInfo?: UserInfoOptions;
}

/** server-info (lazy), mesh-info (eager) and user-info (lazy). */
export function defaultServices(options: DefaultServicesOptions = {}): ServiceDefinition[] {
  return [serverInfoService(), meshInfoService(options.meshInfo), userInfoService(options.userInfo)];
}

/**
 * Tuning from the environment, for hosts started by the CLI:
 * `PAGLETS_MESH_INFO_SAMPLE_MS`, `PAGLETS_MESH_INFO_GOSSIP_MS`, `PAGLETS_MESH_INFO_FANOUT`,
 * `PAGLETS_SERVICE_IDLE_TIMEOUT_MS` (every lazy service).
 */
export function serviceOptionsFromEnv(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): DefaultServicesOptions & ServiceExtensionOptions {
  const num = (name: string) => {
    const text = env(name);
    if (text === undefined || text === "") return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`${name} must be a positive number: current value is '${text}'`);
    }
    return value;
  };
  return {
    meshInfo: {
      sampleIntervalMs: num("PAGLETS_MESH_INFO_SAMPLE_MS"),
      gossipIntervalMs: num("PAGLETS_MESH_INFO_GOSSIP_MS"),
      fanOut: num("PAGLETS_MESH_INFO_FANOUT"),
    },
    idleTimeoutMs: num("PAGLETS_SERVICE_IDLE_TIMEOUT_MS"),
  };
}

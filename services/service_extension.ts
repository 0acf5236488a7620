/**
 * The host extension that runs resident services: a registry per host, the `/v1/services` routes,
 * and the context operations `callService` and `services.lookup` (plus those the services add,
 * such as user-info's `notifyUser`).
 *
 * @example
 * ```ts
 * import { Host } from "../host/host.ts";
 * import { serviceExtension } from "./service_extension.ts";
 * import { defaultServices } from "./mod.ts";
 *
 * const host = await Host.start({ name: "a", port: 0, dataDir: "/tmp/a" }, [serviceExtension(defaultServices())]);
 * ```
 *
 * @module
 */
import type { Hono } from "hono";
import { PagletError } from "../agents/errors.ts";
import type { Host, HostExtension } from "../host/host.ts";
import type { ServiceDefinition } from "./contract.ts";
import { type DirectoryOptions, ServiceDirectory } from "./directory.ts";
import { type RegistryOptions, ServiceRegistry } from "./registry.ts";
import { serviceRoutes } from "./routes.ts";
import { callServiceAt, createServiceHost, type ServiceCallAtOptions } from "./service_host.ts";

/** Options of {@link serviceExtension}. */
export interface ServiceExtensionOptions extends RegistryOptions, DirectoryOptions {}

interface HostServices {
  registry: ServiceRegistry;
  directory: ServiceDirectory;
}

const running = new WeakMap<Host, HostServices>();

/** The service registry of a host (undefined before the extension started or without it). */
export function servicesOf(host: Host): ServiceRegistry | undefined {
  return running.get(host)?.registry;
}

/** A host extension running `definitions` (one registry per host it is started on). */
export function serviceExtension(
  definitions: ServiceDefinition[],
  options: ServiceExtensionOptions = {},
): HostExtension & { routes(app: Hono, host: Host): void } {
  return {
    name: "services",
    routes(app, host) {
      serviceRoutes(app, host, servicesOf);
    },
    async start(host) {
      const registry: ServiceRegistry = new ServiceRegistry(
        (name) => createServiceHost(host, registry, name),
        host.events,
        options,
      );
      for (const definition of definitions) registry.register(definition);
      const directory = new ServiceDirectory(host, registry, options);
      running.set(host, { registry, directory });

      host.ops.registerAll({
        callService: (
          agentId: string,
          service: string,
          op: string,
          request: unknown,
          callOptions: ServiceCallAtOptions,
        ) => {
          if (typeof service !== "string" || typeof op !== "string") {
            throw new PagletError(
              "invalid_request",
              "callService needs a service name and an operation name",
            );
          }
          return callServiceAt(host, registry, service, op, request, callOptions ?? {}, {
            via: "context",
            agentId,
          });
        },
        "services.lookup": (_agentId: string, service: string, scope: "local" | "mesh" = "mesh") => {
          if (scope !== "local" && scope !== "mesh") {
            throw new PagletError(
              "invalid_request",
              `Lookup scope must be 'local' or 'mesh': current value is '${scope}'`,
            );
          }
          return directory.lookup(service, scope);
        },
      });
      for (const definition of definitions) {
        const ops = definition.contextOps?.(registry.serviceHost(definition.contract.name));
        if (ops) host.ops.registerAll(ops);
      }
      await registry.startEager();
    },
    async stop(host) {
      const services = running.get(host);
      if (!services) return;
      await services.registry.close();
      running.delete(host);
    },
  };
}

/** The extensions every host started by the CLI runs (examples, mesh, services, artifacts, movement). */
import type { HostExtension } from "../host/host.ts";
import { meshExtension } from "../host/mesh/mesh_extension.ts";
import { defaultServices, serviceExtension, serviceOptionsFromEnv } from "../services/mod.ts";
import { artifactsExtension } from "../host/artifacts/mod.ts";
import { mobilityExtension } from "../host/transfers/mod.ts";
import { computeSlotsOptionsFromEnv, computeSlotsService } from "../services/compute_slots/service.ts";
import type { ComputeSlotsOptions } from "../services/compute_slots/service_config.ts";
import { exampleServices, examplesExtension } from "../examples/extension.ts";

/** What an embedding program (a test) sets on top of the environment's tuning. */
export interface HostExtensionsOptions {
  /** compute-slots' options, over those from `PAGLETS_COMPUTE_*` (one set to `undefined` is not set). */
  computeSlots?: ComputeSlotsOptions;
}

export function extensionsForHost(options: HostExtensionsOptions = {}): HostExtension[] {
  const serviceOptions = serviceOptionsFromEnv();
  // Movement last: agents whose arrival a restart interrupted start after the services are up.
  return [
    examplesExtension(),
    meshExtension(),
    serviceExtension(
      [
        ...defaultServices(serviceOptions),
        computeSlotsService(computeSlotsOptionsFromEnv(options.computeSlots)),
        ...exampleServices(),
      ],
      serviceOptions,
    ),
    artifactsExtension(),
    mobilityExtension(),
  ];
}

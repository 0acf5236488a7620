/** The extensions every host started by the CLI runs (examples, mesh, services, artifacts, movement). */
import type { HostExtension } from "../host/host.ts";
import { meshExtension } from "../host/mesh/mesh_extension.ts";
import { defaultServices, serviceExtension, serviceOptionsFromEnv } from "../services/mod.ts";
import { artifactsExtension } from "../host/artifacts/mod.ts";
import { mobilityExtension } from "../host/transfers/mod.ts";
import { computeSlotsOptionsFromEnv, computeSlotsService } from "../services/compute_slots/service.ts";
import { exampleServices, examplesExtension } from "../examples/extension.ts";

export function extensionsForHost(): HostExtension[] {
  const serviceOptions = serviceOptionsFromEnv();
  // Movement last: agents whose arrival a restart interrupted start after the services are up.
  return [
    examplesExtension(),
    meshExtension(),
    serviceExtension(
      [
        ...defaultServices(serviceOptions),
        computeSlotsService(computeSlotsOptionsFromEnv()),
        ...exampleServices(),
      ],
      serviceOptions,
    ),
    artifactsExtension(),
    mobilityExtension(),
  ];
}

/** The extensions every host started by the CLI runs (mesh, services, dashboard). */
import type { HostExtension } from "../host/host.ts";
import { meshExtension } from "../host/mesh/mesh_extension.ts";
import { defaultServices, serviceExtension, serviceOptionsFromEnv } from "../services/mod.ts";
import { artifactsExtension } from "../host/artifacts/mod.ts";
import { mobilityExtension } from "../host/transfers/mod.ts";
import { computeSlotsOptionsFromEnv, computeSlotsService } from "../services/compute_slots/service.ts";
import { piMathService } from "../examples/pi/math_service.ts";

export function extensionsForHost(): HostExtension[] {
  const serviceOptions = serviceOptionsFromEnv();
  // Movement last: agents whose arrival a restart interrupted start after the services are up.
  return [
    meshExtension(),
    serviceExtension(
      [
        ...defaultServices(serviceOptions),
        computeSlotsService(computeSlotsOptionsFromEnv()),
        piMathService(),
      ],
      serviceOptions,
    ),
    artifactsExtension(),
    mobilityExtension(),
  ];
}

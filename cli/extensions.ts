/** The extensions every host started by the CLI runs (mesh, services, dashboard). */
import type { HostExtension } from "../host/host.ts";

export function extensionsForHost(): HostExtension[] {
  return [];
}

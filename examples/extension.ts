/**
 * What the examples bring to a host the CLI starts: their paglet types (loaded into every worker,
 * like a user's `--module`) and the pi-math service. The CLI composes these with the kernel's own
 * extensions (cli/extensions.ts); host/, agents/ and services/ never import examples/.
 *
 * @module
 */
import type { HostExtension } from "../host/host.ts";
import type { ServiceDefinition } from "../services/contract.ts";
import { EXAMPLE_MODULES } from "./modules.ts";
import { piMathService } from "./pi/math_service.ts";

/** The examples' paglet types on a host. */
export function examplesExtension(): HostExtension {
  return { name: "examples", modules: [...EXAMPLE_MODULES], start() {} };
}

/** The examples' resident services (registered with the host's other services). */
export function exampleServices(): ServiceDefinition[] {
  return [piMathService()];
}

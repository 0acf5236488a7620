/**
 * A typed HTTP client of a host's resident services (`/v1/services`), for the CLI, scripts and
 * other hosts. Errors come back as `PagletError` with the server's code (`service_not_found`,
 * `operation_not_found`, `invalid_request`, `host_unreachable`, `timeout`, ...).
 *
 * @example
 * ```ts
 * import { ServiceClient } from "./services/client.ts";
 * import { SelectTargets } from "./services/mesh_info/contract.ts";
 *
 * const services = ServiceClient.connect("http://127.0.0.1:8765");
 * console.log(await services.list());
 * const { targets } = await services.call("mesh-info", SelectTargets, { limit: 3 });
 * const raw = await services.callRaw("server-info", "load", { interval: 0.5 });
 * ```
 *
 * @module
 */
import { validate } from "../agents/operations.ts";
import type { Operation } from "../agents/operations.ts";
import { type ClientOptions, HostClient } from "../host/client.ts";
import type { OperationDescription, ServiceDescription } from "./contract.ts";

/** Options of one call. */
export interface ServiceCallOptions {
  /** Per-call timeout in ms. @default the client's timeout */
  timeoutMs?: number;
}

export class ServiceClient {
  readonly http: HostClient;

  constructor(http: HostClient) {
    this.http = http;
  }

  /** A client for the host at `url` (`host:port` accepted). */
  static connect(url: string, options: ClientOptions = {}): ServiceClient {
    return new ServiceClient(new HostClient(url, options));
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** The resident services of the host. */
  async list(options: { scope?: "local" | "mesh" } & ServiceCallOptions = {}): Promise<ServiceDescription[]> {
    const q = options.scope ? `?scope=${options.scope}` : "";
    const out = await this.http.request<{ services: ServiceDescription[] }>(
      "GET",
      `/v1/services${q}`,
      undefined,
      options.timeoutMs,
    );
    return out.services;
  }

  /** One service with the JSON Schemas of its operations. */
  describe(service: string, options: ServiceCallOptions = {}) {
    return this.http.request<ServiceDescription & { operationSchemas: OperationDescription[] }>(
      "GET",
      `/v1/services/${encodeURIComponent(service)}`,
      undefined,
      options.timeoutMs,
    );
  }

  /** Calls an operation by name; the reply is unchecked. */
  async callRaw(
    service: string,
    op: string,
    request: unknown = {},
    options: ServiceCallOptions = {},
  ): Promise<unknown> {
    const path = `/v1/services/${encodeURIComponent(service)}/${encodeURIComponent(op)}`;
    const out = await this.http.request<{ reply: unknown }>("POST", path, request ?? {}, options.timeoutMs);
    return out.reply;
  }

  /**
   * Calls a declared operation: checks the request here (fails fast, no round trip), sends it as
   * given (the host fills defaults) and validates the reply.
   */
  async call<Req, Rep>(
    service: string,
    op: Operation<Req, Rep>,
    request: Partial<Req> = {},
    options: ServiceCallOptions = {},
  ): Promise<Rep> {
    validate(op.request, request, `request of ${service}/${op.name}`);
    const reply = await this.callRaw(service, op.name, request, options);
    return validate(op.reply, reply, `reply of ${service}/${op.name}`);
  }
}

/**
 * Resident-service contracts: what a service is called, which typed operations it answers, where it
 * is offered (`scope`) and when it runs (`lifecycle`).
 *
 * A resident service is trusted kernel-side code, not a paglet. It runs on the host's main thread,
 * so its handlers must never block: async I/O only, heavy work goes to workers or other processes.
 *
 * Implementing one (the shape `compute-slots` follows):
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { operation } from "../agents/operations.ts";
 * import { cancel, every } from "../agents/timers.ts";
 * import { defineService, serviceContract } from "./contract.ts";
 *
 * const Ping = operation("ping", z.object({ text: z.string().default("") }), z.object({ echo: z.string() }));
 *
 * export const EchoContract = serviceContract({
 *   name: "echo",
 *   version: "1",
 *   scope: "mesh",
 *   lifecycle: "lazy",
 *   operations: { ping: Ping },
 * });
 *
 * export function echoService() {
 *   return defineService(EchoContract, (host) => {
 *     const timer = every(60_000, () => host.events.emit("echo-tick"));
 *     return {
 *       handlers: { ping: ({ text }) => ({ echo: `${host.info.name}: ${text}` }) },
 *       stop: () => cancel(timer),
 *     };
 *   });
 * }
 * ```
 *
 * @module
 */
import type { ContextOpHandlers } from "../host/worker/protocol.ts";
import { z } from "zod";
import type { Operation } from "../agents/operations.ts";
import type { ServiceHost } from "./service_host.ts";

/** Where a service is offered: `local` = this host's callers only; `mesh` = found by mesh lookups too. */
export type ServiceScope = "local" | "mesh";

/**
 * When a service runs: `eager` starts with the host and stops with it; `lazy` starts on its first
 * call and stops after an idle timeout, staying discoverable while stopped.
 */
export type ServiceLifecycle = "eager" | "lazy";

/** Any operation (request and reply types erased). */
// deno-lint-ignore no-explicit-any
export type AnyOperation = Operation<any, any>;

/** The operations of a contract, keyed by operation name. */
export type OperationMap = Record<string, AnyOperation>;

/** The request type of an operation. */
export type RequestOf<O> = O extends Operation<infer Req, unknown> ? Req : never;
/** The reply type of an operation. */
export type ReplyOf<O> = O extends Operation<unknown, infer Rep> ? Rep : never;

/** A frozen service contract. */
export interface ServiceContract<Ops extends OperationMap = OperationMap> {
  /** Service name, used in URLs: `POST /v1/services/<name>/<op>`. */
  readonly name: string;
  /** Contract version; bump it when a request or reply changes incompatibly. @default "1" */
  readonly version: string;
  /** One line for `GET /v1/services` and the docs. */
  readonly description: string;
  readonly scope: ServiceScope;
  readonly lifecycle: ServiceLifecycle;
  /** How long a lazy service may sit idle before it is stopped. @default 30000 */
  readonly idleTimeoutMs: number;
  readonly operations: Readonly<Ops>;
}

/** Input of {@link serviceContract}. */
export interface ServiceContractSpec<Ops extends OperationMap> {
  name: string;
  /** @default "1" */
  version?: string;
  /** @default "" */
  description?: string;
  /** @default "mesh" */
  scope?: ServiceScope;
  /** @default "lazy" */
  lifecycle?: ServiceLifecycle;
  /** @default 30000 */
  idleTimeoutMs?: number;
  /** Keys must equal each operation's name. */
  operations: Ops;
}

const NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Declares a contract; fails at once on a bad name, a missing operation or a key that does not
 * match its operation's name.
 *
 * @example
 * ```ts
 * const Status = operation("status", z.object({}), z.object({ ok: z.boolean() }));
 * const contract = serviceContract({ name: "health-probe", operations: { status: Status } });
 * ```
 */
export function serviceContract<Ops extends OperationMap>(
  spec: ServiceContractSpec<Ops>,
): ServiceContract<Ops> {
  const {
    name,
    version = "1",
    description = "",
    scope = "mesh",
    lifecycle = "lazy",
    idleTimeoutMs = 30_000,
    operations,
  } = spec;
  if (!NAME.test(name)) {
    throw new RangeError(`Service name must be lower-case words joined by '-': current value is '${name}'`);
  }
  if (!version.trim()) throw new RangeError(`Service '${name}' needs a non-empty version`);
  if (scope !== "local" && scope !== "mesh") {
    throw new RangeError(`Service scope must be 'local' or 'mesh': current value is '${scope}'`);
  }
  if (lifecycle !== "eager" && lifecycle !== "lazy") {
    throw new RangeError(`Service lifecycle must be 'eager' or 'lazy': current value is '${lifecycle}'`);
  }
  if (!Number.isFinite(idleTimeoutMs) || idleTimeoutMs <= 0) {
    throw new RangeError(
      `Service '${name}' idleTimeoutMs must be positive: current value is ${idleTimeoutMs}`,
    );
  }
  const entries = Object.entries(operations);
  if (entries.length === 0) throw new RangeError(`Service '${name}' must declare at least one operation`);
  for (const [key, op] of entries) {
    if (key !== op.name) {
      throw new RangeError(
        `Service '${name}' lists operation '${op.name}' under the key '${key}'; they must match`,
      );
    }
  }
  return Object.freeze({
    name,
    version,
    description,
    scope,
    lifecycle,
    idleTimeoutMs,
    operations: Object.freeze({ ...operations }),
  });
}

/** Who is calling a service operation. */
export interface ServiceCall {
  /** The paglet that called through its context (`callService`), if any. */
  agentId?: string;
  /** `context` (a paglet on this host), `http` (CLI, scripts, other hosts) or `kernel` (other services). */
  via: "context" | "http" | "kernel";
}

/** A handler per operation: gets the validated request, returns the reply (validated after). */
export type ServiceHandlers<Ops extends OperationMap> = {
  [K in keyof Ops]: (
    request: RequestOf<Ops[K]>,
    call: ServiceCall,
  ) => ReplyOf<Ops[K]> | Promise<ReplyOf<Ops[K]>>;
};

/** Why a service stops (see {@link RunningService.stop}). */
export type ServiceStopReason = "host-stop" | "idle" | "stop";

/** A started service instance. */
export interface RunningService<Ops extends OperationMap = OperationMap> {
  handlers: ServiceHandlers<Ops>;
  /**
   * Releases timers, listeners and connections. Called once; awaited before a restart. `why` is
   * "host-stop" when the host stops (its process usually ends next: work that only gives resources
   * back to the system may be left to that end), "idle" after the idle timeout, else "stop".
   */
  stop?(why: ServiceStopReason): void | Promise<void>;
  /**
   * True while the service must not be stopped for idleness even with no call in flight (for
   * example while it holds leases). Asked when the idle timer fires; lazy services only.
   */
  busy?(): boolean;
}

/** A contract bound to the code that starts it: what hosts register. */
export interface ServiceDefinition<Ops extends OperationMap = OperationMap> {
  readonly contract: ServiceContract<Ops>;
  /** Starts an instance on a host (eager: at host start; lazy: on first call). */
  start(host: ServiceHost): RunningService<Ops> | Promise<RunningService<Ops>>;
  /**
   * Context operations this service adds for paglets, registered at host start whether or not the
   * service runs (they usually call the service through `host.call`, which starts it when lazy).
   */
  contextOps?(host: ServiceHost): ContextOpHandlers;
}

/**
 * Binds a contract to its start function.
 *
 * @example
 * ```ts
 * const definition = defineService(contract, () => ({ handlers: { status: () => ({ ok: true }) } }));
 * ```
 */
export function defineService<Ops extends OperationMap>(
  contract: ServiceContract<Ops>,
  start: (host: ServiceHost) => RunningService<Ops> | Promise<RunningService<Ops>>,
  extras: Pick<ServiceDefinition<Ops>, "contextOps"> = {},
): ServiceDefinition<Ops> {
  return Object.freeze({ contract, start, ...extras });
}

/** How a service describes itself in `GET /v1/services`. */
export interface ServiceDescription {
  name: string;
  version: string;
  description: string;
  scope: ServiceScope;
  lifecycle: ServiceLifecycle;
  running: boolean;
  operations: string[];
}

/** The operations of a contract with their JSON Schemas, for `GET /v1/services/:name`. */
export interface OperationDescription {
  name: string;
  request: unknown;
  reply: unknown;
}

/** True when an object property is always present in the parsed value (a default or catch fills it in). */
function alwaysSet(schema: z.ZodTypeAny): boolean {
  while (schema instanceof z.ZodEffects) schema = schema.innerType();
  return schema instanceof z.ZodDefault || schema instanceof z.ZodCatch || !schema.isOptional();
}

/**
 * JSON Schema (draft-07) of a zod schema: what it accepts (`input`: fields with defaults optional,
 * unknown keys allowed) or what it gives (`output`: defaulted fields required, unknown keys absent,
 * transformed values `{}`). Bigints are `{}` (only CBOR carries them). null if it cannot be expressed.
 * The converter is loaded on first use, so start-up does not pay for it.
 */
export async function jsonSchemaOf(schema: z.ZodTypeAny, io: "input" | "output"): Promise<unknown> {
  const { ignoreOverride, zodToJsonSchema } = await import("zod-to-json-schema");
  try {
    return zodToJsonSchema(schema, {
      $refStrategy: "none",
      effectStrategy: io === "input" ? "input" : "any",
      pipeStrategy: io,
      removeAdditionalStrategy: io === "input" ? "strict" : "passthrough",
      allowedAdditionalProperties: undefined,
      override: (def) => (def as { typeName?: string }).typeName === "ZodBigInt" ? {} : ignoreOverride,
      postProcess: (json, def) => {
        if (io === "output" && (def as z.ZodObjectDef).typeName === "ZodObject") {
          const shape = (def as z.ZodObjectDef).shape();
          const properties = Object.keys((json as { properties?: object })?.properties ?? {});
          const required = properties.filter((key) => alwaysSet(shape[key]));
          if (required.length) Object.assign(json!, { required });
        }
        return json;
      },
    });
  } catch {
    return null;
  }
}

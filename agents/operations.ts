/**
 * Typed operations: a named request/reply pair with runtime validation at the boundary.
 *
 * @example
 * ```ts
 * const add = operation("calc.add", z.object({ a: z.number(), b: z.number() }), z.object({ sum: z.number() }));
 * // in a paglet:
 * override onMessage(msg: Message) {
 *   return routeOperations(msg, [handle(add, ({ a, b }) => ({ sum: a + b }))]) ?? this.notHandled(msg);
 * }
 * // from a client:
 * const { sum } = await callOperation((m) => context.send(ref, m), add, { a: 1, b: 2 });
 * ```
 */
import type { z } from "zod";
import { PagletError } from "./errors.ts";
import type { Message, MessageInput } from "./message.ts";

/** A zod schema that parses to `T`, whatever it accepts (defaults and transforms make the two differ). */
export type Schema<T> = z.ZodType<T, z.ZodTypeDef, unknown>;

export interface Operation<Req, Rep> {
  readonly name: string;
  readonly request: Schema<Req>;
  readonly reply: Schema<Rep>;
}

/** Declares an operation. */
export function operation<Req, Rep>(
  name: string,
  request: Schema<Req>,
  reply: Schema<Rep>,
): Operation<Req, Rep> {
  if (!/^[a-z][a-z0-9_.:-]*$/i.test(name)) {
    throw new RangeError(`Operation name must be a word like 'pi.start': current value is '${name}'`);
  }
  return Object.freeze({ name, request, reply });
}

/** Parses a value against a schema; failure raises `invalid_request` with the issues. */
export function validate<T>(schema: Schema<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
  throw new PagletError("invalid_request", `Invalid ${what}: ${issues}`, { issues: result.error.issues });
}

/** An operation bound to its handler. */
export interface OperationHandler {
  readonly op: Operation<unknown, unknown>;
  readonly fn: (request: unknown, message: Message) => unknown;
}

/** Binds a handler to an operation. */
export function handle<Req, Rep>(
  op: Operation<Req, Rep>,
  fn: (request: Req, message: Message) => Rep | Promise<Rep>,
): OperationHandler {
  return { op: op as Operation<unknown, unknown>, fn: fn as OperationHandler["fn"] };
}

/**
 * Routes a message to the handler of its operation: validates the request, runs the handler,
 * validates the reply. Returns undefined when no handler matches (so callers can fall back).
 */
export function routeOperations(
  message: Message,
  handlers: OperationHandler[],
): Promise<unknown> | undefined {
  const found = handlers.find((h) => h.op.name === message.kind);
  if (!found) return undefined;
  return (async () => {
    const request = validate(found.op.request, message.args, `request of ${found.op.name}`);
    const reply = await found.fn(request, message);
    return validate(found.op.reply, reply, `reply of ${found.op.name}`);
  })();
}

/** Calls an operation through any send function; validates both ends. */
export async function callOperation<Req, Rep>(
  send: (message: MessageInput) => Promise<unknown>,
  op: Operation<Req, Rep>,
  request: Req,
): Promise<Rep> {
  const args = validate(op.request, request, `request of ${op.name}`) as Record<string, unknown>;
  const reply = await send({ kind: op.name, args });
  return validate(op.reply, reply, `reply of ${op.name}`);
}

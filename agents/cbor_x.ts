/**
 * cbor-x, loaded without Deno's Node `Buffer`.
 *
 * cbor-x reads `globalThis.Buffer` once, when its module is evaluated, and Deno builds that global
 * on first touch by loading its Node buffer polyfill: about 40 ms of CPU in every thread that loads
 * cbor-x (the CLI, each agent worker, each compute and Pi thread), measured on Deno 2.9.6. Hidden
 * while cbor-x evaluates, cbor-x works on plain Uint8Arrays; the global is back right after, for
 * any code that uses it. Without a Buffer to tell apart, cbor-x writes a Uint8Array as a plain byte
 * string (it tagged it 64 before); both forms decode to a Uint8Array.
 *
 * @module
 */
const buffer = Object.getOwnPropertyDescriptor(globalThis, "Buffer");
if (buffer?.configurable) {
  Object.defineProperty(globalThis, "Buffer", { value: undefined, configurable: true, writable: true });
}
const cborX = await import("cbor-x/encode");
if (buffer?.configurable) Object.defineProperty(globalThis, "Buffer", buffer);

export const { addExtension, Encoder, Tag } = cborX;
export type Tag = InstanceType<typeof Tag>;

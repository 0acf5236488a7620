/**
 * How travelling code finds the SDK. The bundler turns a module's `import ... from "paglets"` into a
 * read of the object this module installs on `globalThis`, so code loaded from a data: URL uses the
 * very module instances of the thread that loads it: one `Paglet` class, and `instanceof` holds.
 *
 * Imported for its effect by every thread that loads travelling code (agent workers, compute
 * workers, the process of `paglets run`), before it imports a bundle.
 *
 * @module
 */
import * as sdk from "./mod.ts";

/** The global slot bundles read the SDK from (host/code/bundler.ts writes the read). */
export const SDK_GLOBAL = "paglets.sdk";

(globalThis as Record<symbol, unknown>)[Symbol.for(SDK_GLOBAL)] ??= sdk;

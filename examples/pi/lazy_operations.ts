/**
 * The Pi operations (operations.ts) for the paglets, loaded once per worker. Building their zod schemas
 * takes a few ms (~4 ms with zod 3, ~18 ms with zod 4), and every agent worker of every host loads the
 * Pi paglet types when it starts: the paglets therefore start the import in the background when their
 * module loads (paglets.ts) and await it in their handlers, where it has long finished.
 *
 * @module
 */
export type PiOperations = typeof import("./operations.ts");

let loading: Promise<PiOperations> | undefined;

/** The operations module, importing it on first use. */
export function piOperations(): Promise<PiOperations> {
  return loading ??= import("./operations.ts");
}

/** Paglet types known to a worker, found by scanning the exports of type modules. */
import { isPagletClass, type PagletClass } from "./paglet.ts";

/** Where each registered class was loaded from (compute steps import it again in their own thread). */
const MODULE_URLS = new WeakMap<PagletClass, string>();

/** The module URL a paglet class was loaded from by a {@link TypeRegistry}, if any. */
export function moduleUrlOf(cls: PagletClass): string | undefined {
  return MODULE_URLS.get(cls);
}

export class TypeRegistry {
  readonly #types = new Map<string, PagletClass>();
  readonly #modules = new Set<string>();

  /** Imports a module and registers every paglet class it exports. Returns the type names. */
  async load(moduleUrl: string): Promise<string[]> {
    const mod = await import(moduleUrl);
    this.#modules.add(moduleUrl);
    for (const value of Object.values(mod)) {
      if (isPagletClass(value) && !MODULE_URLS.has(value)) MODULE_URLS.set(value, moduleUrl);
    }
    return this.registerExports(mod);
  }

  registerExports(mod: Record<string, unknown>): string[] {
    const names: string[] = [];
    for (const value of Object.values(mod)) {
      if (isPagletClass(value)) {
        this.register(value);
        names.push(value.type);
      }
    }
    return names;
  }

  register(cls: PagletClass): void {
    const existing = this.#types.get(cls.type);
    if (existing && existing !== cls) {
      throw new Error(`Paglet type '${cls.type}' is defined twice (${existing.name} and ${cls.name})`);
    }
    this.#types.set(cls.type, cls);
  }

  get(type: string): PagletClass | undefined {
    return this.#types.get(type);
  }

  names(): string[] {
    return [...this.#types.keys()].sort();
  }

  modules(): string[] {
    return [...this.#modules];
  }
}

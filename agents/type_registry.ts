/** Paglet types known to a worker, found by scanning the exports of type modules. */
import { isPagletClass, type PagletClass } from "./paglet.ts";

export class TypeRegistry {
  readonly #types = new Map<string, PagletClass>();
  readonly #modules = new Set<string>();

  /** Imports a module and registers every paglet class it exports. Returns the type names. */
  async load(moduleUrl: string): Promise<string[]> {
    const mod = await import(moduleUrl);
    this.#modules.add(moduleUrl);
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

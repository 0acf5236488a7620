/** The pool of agent workers. Each active paglet lives in exactly one worker. */
import * as Comlink from "comlink";
import type { KernelApi, WorkerApi, WorkerConfig } from "./worker/protocol.ts";

/** One worker and the agents living in it. */
export interface WorkerSlot {
  readonly index: number;
  readonly api: Comlink.Remote<WorkerApi>;
  readonly agents: Set<string>;
  readonly worker: Worker;
  /** Generation: bumps when a stuck worker is replaced in this slot. */
  readonly generation: number;
}

const WORKER_URL = new URL("./worker/agent_worker.ts", import.meta.url).href;

export class WorkerPool {
  readonly #slots: WorkerSlot[] = [];
  readonly #config: WorkerConfig;
  readonly #kernel: KernelApi;
  #types: string[] = [];

  constructor(config: WorkerConfig, kernel: KernelApi) {
    this.#config = config;
    this.#kernel = kernel;
  }

  /** Starts `size` workers; returns the paglet types they know. */
  async start(size: number): Promise<string[]> {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Worker pool size must be a positive integer: current value is ${size}`);
    }
    const slots = await Promise.all(Array.from({ length: size }, (_, i) => this.#spawn(i, 0)));
    this.#slots.push(...slots);
    return this.#types;
  }

  async #spawn(index: number, generation: number): Promise<WorkerSlot> {
    const worker = new Worker(WORKER_URL, { type: "module", name: `paglets-agent-worker-${index}` });
    const api = Comlink.wrap<WorkerApi>(worker);
    this.#types = await api.init(this.#config, Comlink.proxy(this.#kernel));
    return { index, api, agents: new Set(), worker, generation };
  }

  /** Paglet types known to the workers. */
  get types(): string[] {
    return this.#types;
  }

  get slots(): readonly WorkerSlot[] {
    return this.#slots;
  }

  /** The worker with the fewest agents. */
  pick(): WorkerSlot {
    let best = this.#slots[0];
    for (const slot of this.#slots) if (slot.agents.size < best.agents.size) best = slot;
    return best;
  }

  /** Loads a module into every worker (paglets defined by a user script). */
  async loadModule(url: string): Promise<string[]> {
    this.#config.modules.push(url);
    let names: string[] = [];
    for (const slot of this.#slots) {
      const outcome = await slot.api.loadModule(url);
      if (!outcome.ok) throw new Error(outcome.error.message);
      names = outcome.value;
    }
    this.#types = [...new Set([...this.#types, ...names])].sort();
    return names;
  }

  /**
   * Terminates a stuck worker and starts a fresh one in its slot. Returns the ids of the agents
   * that lived in it (the caller restores or disposes them).
   */
  async replace(slot: WorkerSlot): Promise<string[]> {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return [];
    const lost = [...slot.agents];
    slot.api[Comlink.releaseProxy]();
    slot.worker.terminate();
    this.#slots[i] = await this.#spawn(slot.index, slot.generation + 1);
    return lost;
  }

  close(): void {
    for (const slot of this.#slots) {
      try {
        slot.api[Comlink.releaseProxy]();
      } catch { /* already released */ }
      slot.worker.terminate();
    }
    this.#slots.length = 0;
  }
}

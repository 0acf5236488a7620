/**
 * The Pi coordinator's record of the helpers it creates (batch workers, the post-processor), written
 * before each helper is created: a file in the coordinator's work dir, which stays while the
 * coordinator lives on its host (across restarts) and goes when it is disposed or moves.
 *
 * The coordinator's state names its helpers too (`batchesOut`, `postProcessor`), but the host stores
 * that state only with a handler's reply or a checkpoint, and not at all while one of its handlers is
 * half-way (a `pi.summary` waiting for the end, a drain waiting for news): a helper created meanwhile
 * would be unknown to the instance a crash brings back. A line here is on disk (as the host's own
 * writes: it survives a crash of the process) before its helper's creation is even asked for.
 *
 * One line per helper about to be created (`+ id host`) and one per helper known gone (`- id`), only
 * ever appended. Lines of helpers gone wait for the next write (a line lost costs the next instance
 * one dispose that finds nothing); the lines written together share one write.
 *
 * @example
 * ```ts ignore
 * const journal = new HelperJournal(() => this.context.workDir());
 * await journal.created([{ id: "pi-1-b0-1", host: url }]); // then create it
 * journal.gone("pi-1-b0-1"); // once its host said it is gone
 * const left = await journal.read(); // in the instance that starts again
 * ```
 *
 * @module
 */
import type { AgentRef } from "../../agents/mod.ts";
import { join } from "../../agents/paths.ts";

const FILE = "helpers.journal";

export class HelperJournal {
  readonly #dir: () => Promise<string>;
  #path?: Promise<string>;
  /** Lines of helpers known gone, for the next write. */
  #gone = "";
  /** Lines of the write not yet started, and that write. */
  #pending = "";
  #next: Promise<void> | null = null;
  #tail: Promise<void> = Promise.resolve();
  /** This instance has written to the journal. */
  #wrote = false;

  /** `dir`: the coordinator's work dir, asked for once, at the first write or read. */
  constructor(dir: () => Promise<string>) {
    this.#dir = dir;
  }

  /** Records helpers about to be created; resolves once the line is written (create them only then). */
  created(refs: readonly AgentRef[]): Promise<void> {
    return this.#append(refs.map((r) => `+ ${r.id} ${r.host}\n`).join(""));
  }

  /** Records a helper known gone (disposed, or its host has no such agent); written with the next write. */
  gone(id: string): void {
    this.#gone += `- ${id}\n`;
  }

  /** Writes the lines of helpers gone that wait. */
  flush(): Promise<void> {
    return this.#append("");
  }

  /**
   * The helpers the journal names as created and not gone. A line cut short (a crash while it was
   * written) is left out: its helper's creation was not asked for.
   */
  async read(): Promise<AgentRef[]> {
    let text: string;
    try {
      text = await Deno.readTextFile(await this.#file());
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
    const out = new Map<string, string>();
    for (const line of text.slice(0, text.lastIndexOf("\n") + 1).split("\n")) {
      const [sign, id, host] = line.split(" ");
      if (sign === "+" && id && host) out.set(id, host);
      else if (sign === "-" && id) out.delete(id);
    }
    return [...out].map(([id, host]) => ({ id, host }));
  }

  /** Appends `lines` and the lines gone that wait, in one write with whatever else is asked for now. */
  #append(lines: string): Promise<void> {
    this.#pending += this.#gone + lines;
    this.#gone = "";
    if (!this.#next) {
      const next = this.#tail.then(async () => {
        this.#next = null;
        const text = this.#pending;
        this.#pending = "";
        if (!text) return;
        // An instance's first write begins a line of its own: a line its former instance left cut
        // short (a full disk, a power loss) must not run into this one's first.
        await Deno.writeTextFile(await this.#file(), this.#wrote ? text : `\n${text}`, { append: true });
        this.#wrote = true;
      });
      this.#next = next;
      this.#tail = next.catch(() => {});
    }
    return this.#next;
  }

  #file(): Promise<string> {
    if (!this.#path) {
      const path = this.#dir().then((dir) => join(dir, FILE));
      // Asked again after a failure (a full disk, a host stopping).
      path.catch(() => this.#path === path && (this.#path = undefined));
      this.#path = path;
    }
    return this.#path;
  }
}

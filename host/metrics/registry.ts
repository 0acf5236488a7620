/**
 * Prometheus metrics of a host, written in the text exposition format (version 0.0.4).
 *
 * A small registry of its own rather than prom-client: importing prom-client takes 90–260 ms in a
 * fresh Deno process (measured on the 2-vCPU reference machine), a third of the host's start-up
 * goal, and the host needs only counters, gauges and histograms with fixed labels. Recording is a
 * Map lookup and an addition; values that mirror tables (agents, leases, mesh members) are read at
 * scrape time by collectors.
 */

export type Labels = Record<string, string | number>;

interface Series<V> {
  labels: Labels;
  value: V;
}

abstract class Family<V> {
  readonly #series = new Map<string, Series<V>>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
    readonly labelNames: readonly string[],
  ) {}

  protected series(labels: Labels, make: () => V): Series<V> {
    const key = this.labelNames.map((n) => String(labels[n] ?? "")).join("\u0000");
    let s = this.#series.get(key);
    if (!s) {
      const own: Labels = {};
      for (const n of this.labelNames) own[n] = String(labels[n] ?? "");
      s = { labels: own, value: make() };
      this.#series.set(key, s);
    }
    return s;
  }

  /** Forgets every series (gauges that are rebuilt at each scrape). */
  clear(): void {
    this.#series.clear();
  }

  protected all(): Iterable<Series<V>> {
    return this.#series.values();
  }

  abstract lines(): string[];
}

export class Counter extends Family<number> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "counter", labelNames);
  }

  inc(labels: Labels = {}, by = 1): void {
    this.series(labels, () => 0).value += by;
  }

  /** Mirrors a total kept elsewhere (a count that only grows, read at scrape time). */
  setTotal(labels: Labels, total: number): void {
    this.series(labels, () => 0).value = total;
  }

  lines(): string[] {
    return [...this.all()].map((s) => `${this.name}${labelText(s.labels)} ${number(s.value)}`);
  }
}

export class Gauge extends Family<number> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "gauge", labelNames);
  }

  set(labels: Labels, value: number): void {
    this.series(labels, () => 0).value = value;
  }

  lines(): string[] {
    return [...this.all()].map((s) => `${this.name}${labelText(s.labels)} ${number(s.value)}`);
  }
}

interface Buckets {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Family<Buckets> {
  readonly #bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    super(name, help, "histogram", labelNames);
    this.#bounds = bounds;
  }

  observe(labels: Labels, value: number): void {
    const b = this.series(labels, () => ({ counts: this.#bounds.map(() => 0), sum: 0, count: 0 })).value;
    for (let i = 0; i < this.#bounds.length; i++) {
      if (value <= this.#bounds[i]) {
        b.counts[i]++;
        break;
      }
    }
    b.sum += value;
    b.count++;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const s of this.all()) {
      let cumulative = 0;
      for (const [i, le] of this.#bounds.entries()) {
        cumulative += s.value.counts[i];
        out.push(`${this.name}_bucket${labelText({ ...s.labels, le: number(le) })} ${cumulative}`);
      }
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.value.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${number(s.value.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.value.count}`);
    }
    return out;
  }
}

/** The metrics of one host; extensions and services add their own families and collectors. */
export class MetricsRegistry {
  readonly #families: Family<unknown>[] = [];
  readonly #collectors: (() => void | Promise<void>)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, labelNames, bounds));
  }

  /** Runs before every scrape: sets gauges (and counters kept elsewhere) from live tables. */
  collect(fn: () => void | Promise<void>): void {
    this.#collectors.push(fn);
  }

  /** The exposition text; a collector that fails leaves its families as they were. */
  async text(): Promise<string> {
    await Promise.all(this.#collectors.map(async (fn) => {
      try {
        await fn();
      } catch { /* one table that cannot be read must not hide every other metric */ }
    }));
    const out: string[] = [];
    for (const f of this.#families) {
      out.push(
        `# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
        `# TYPE ${f.name} ${f.type}`,
      );
      out.push(...f.lines());
    }
    return out.join("\n") + "\n";
  }

  #add<F>(family: F): F {
    const f = family as unknown as Family<unknown>;
    if (this.#families.some((known) => known.name === f.name)) {
      throw new Error(`Metric ${f.name} is registered twice`);
    }
    this.#families.push(f);
    return family;
  }
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

function number(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

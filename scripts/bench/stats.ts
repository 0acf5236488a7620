/** Small statistics helpers shared by the benchmarks. */

/** The median of a sample (the sample is sorted in place). */
export function median(sample: number[]): number {
  if (sample.length === 0) throw new RangeError("Cannot take the median of an empty sample");
  sample.sort((a, b) => a - b);
  const mid = sample.length >> 1;
  return sample.length % 2 ? sample[mid] : (sample[mid - 1] + sample[mid]) / 2;
}

/** The p-th percentile (0..100) of a sample (sorted in place). */
export function percentile(sample: number[], p: number): number {
  sample.sort((a, b) => a - b);
  const i = Math.min(sample.length - 1, Math.max(0, Math.round((p / 100) * (sample.length - 1))));
  return sample[i];
}

/** Microseconds with one decimal. */
export function us(ms: number): string {
  return `${(ms * 1000).toFixed(1)} µs`;
}

/** Prints the verdict line every benchmark ends with. */
export function verdict(name: string, ratio: number, target: string, met: boolean): void {
  console.log(`${name}: ratio ${ratio.toFixed(2)}× (target ${target}) → ${met ? "MET" : "NOT MET"}`);
}

/** A host to benchmark against, and how to stop it and remove its data. */
export interface BenchHost {
  client: import("../../host/client.ts").HostClient;
  cleanup(): Promise<void>;
}

/**
 * Starts the host under measurement: a separate process (as users run it) or, with `inProcess`,
 * a host inside this process (no process boundary between client and host).
 */
export async function benchHost(inProcess: boolean, prefix: string): Promise<BenchHost> {
  const { HostClient } = await import("../../host/client.ts");
  if (inProcess) {
    const { Host } = await import("../../host/host.ts");
    const { extensionsForHost } = await import("../../cli/extensions.ts");
    const dataDir = await Deno.makeTempDir({ prefix: `paglets-bench-${prefix}-` });
    const host = await Host.start({ name: "bench", port: 0, dataDir, quiet: true }, extensionsForHost());
    return {
      client: new HostClient(host.url),
      async cleanup() {
        await host.stop();
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      },
    };
  }
  const { startHost, stopAll } = await import("../../tests/helpers/host_process.ts");
  const hp = await startHost({ name: "bench" });
  return {
    client: hp.client,
    async cleanup() {
      await hp.stop();
      await stopAll();
      await Deno.remove(hp.dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** In-process hosts for tests that do not need a separate process (faster, same real HTTP). */
import { Host, type HostExtension } from "../../host/host.ts";
import type { HostOptions } from "../../host/options.ts";
import { HostClient } from "../../host/client.ts";
import { extensionsForHost } from "../../cli/extensions.ts";

export interface TestHost {
  host: Host;
  client: HostClient;
  dataDir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a host on 127.0.0.1:0 with a temp data dir; dispose it with `await using`. */
export async function testHost(
  options: Partial<HostOptions> = {},
  extensions?: HostExtension[],
): Promise<TestHost> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "paglets-test-" });
  const host = await Host.start(
    { name: "test", port: 0, workers: 2, quiet: true, ...options, dataDir },
    extensions ?? extensionsForHost(),
  );
  return {
    host,
    client: new HostClient(host.url, { apiKey: options.apiKey ?? null }),
    dataDir,
    async [Symbol.asyncDispose]() {
      await host.stop();
      if (!options.dataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function eventually<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<Exclude<T, null | undefined | false>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as Exclude<T, null | undefined | false>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

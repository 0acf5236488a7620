/** Shared setup of the analysis tests: host processes, campaigns, the result DB. */
import { DatabaseSync } from "node:sqlite";
import type { HostClient } from "../../host/client.ts";
import { type HostProcess, startHost, type StartOptions } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import type { CampaignRequest, CampaignSummary } from "../../examples/analysis/operations.ts";

export const FAST = {
  PAGLETS_COMPUTE_GOSSIP_MS: "300",
  PAGLETS_COMPUTE_SAMPLE_MS: "500",
  PAGLETS_MESH_INFO_SAMPLE_MS: "2000",
  PAGLETS_MESH_INFO_GOSSIP_MS: "2000",
};

export function start(name: string, options: Partial<StartOptions> = {}): Promise<HostProcess> {
  return startHost({
    ...options,
    name,
    env: { ...FAST, ...options.env },
    args: [
      "--workers",
      "2",
      "--gossip-interval-ms",
      "200",
      "--offline-after-ms",
      "1500",
      ...(options.args ?? []),
    ],
  });
}

/** A small, quick campaign; fields override. */
export function smallCampaign(dbPath: string, fields: Partial<CampaignRequest> = {}): CampaignRequest {
  return {
    tasks: 2,
    dbPath,
    rows: 1500,
    features: 8,
    trees: 4,
    targetRuntimeSeconds: 0.2,
    memoryBytes: 32 * 2 ** 20,
    cpuCores: 1,
    tempStorageBytes: 2 ** 20,
    dbLockTimeoutSeconds: 30,
    homeCheckSeconds: 1,
    allowHomeCompute: true,
    ...fields,
  };
}

/** Creates the seeder (id = campaign id) and starts the campaign. */
export async function startCampaign(client: HostClient, request: CampaignRequest): Promise<string> {
  const campaignId = `analysis-test-${crypto.randomUUID().slice(0, 8)}`;
  await client.createAgent({ type: "examples.analysis.seeder", id: campaignId });
  await client.send(campaignId, { kind: "analysis.start", args: { ...request, campaignId } }, {
    timeoutMs: 60_000,
  });
  return campaignId;
}

export function summary(client: HostClient, campaignId: string): Promise<CampaignSummary> {
  return client.send(campaignId, { kind: "analysis.summary", args: { withResults: true } }) as Promise<
    CampaignSummary
  >;
}

/** Waits until the seeder's summary satisfies `ok`; returns that summary. */
export function campaignReaches(
  client: HostClient,
  campaignId: string,
  what: string,
  ok: (s: CampaignSummary) => boolean,
  timeoutMs = 60_000,
): Promise<CampaignSummary> {
  return eventually(
    what,
    async () => {
      const s = await summary(client, campaignId);
      if (ok(s)) return s;
      // Not yet: the error eventually reports on timeout says where the jobs are.
      throw new Error(
        JSON.stringify(s.jobs.map((j) => [j.jobId.slice(-4), j.status, j.computeStatus, j.host, j.error])),
      );
    },
    timeoutMs,
    200,
  ) as Promise<CampaignSummary>;
}

/** Rows of a query on the result DB (empty when the DB does not exist yet). */
export function dbRows(dbPath: string, sql: string): Record<string, unknown>[] {
  try {
    Deno.statSync(dbPath);
  } catch {
    return [];
  }
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } catch {
    return [];
  } finally {
    db.close();
  }
}

/** Notifications kept by a host's user-info. */
export async function notifications(
  client: HostClient,
): Promise<{ title: string; text: string; jobId: string | null }[]> {
  const { reply } = await client.request<
    { reply: { notifications: { title: string; text: string; jobId: string | null }[] } }
  >(
    "POST",
    "/v1/services/user-info/recent",
    {},
  );
  return reply.notifications;
}

/** Another process (Python, fcntl.flock) holding a lock file until `release()`. */
export async function holdLock(path: string): Promise<{ release(): Promise<void> }> {
  const holder = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import fcntl,sys; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
      path,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = holder.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await holder.stdin.close().catch(() => {});
      await holder.status;
      await holder.stdout.cancel().catch(() => {});
    },
  };
}

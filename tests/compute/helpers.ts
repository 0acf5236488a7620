/** Shared setup of the compute tests: hosts with compute-slots, spin jobs, status polling. */
import { examplesExtension } from "../../examples/extension.ts";
import { eligibleCpuIds } from "../../host/compute/affinity.ts";
import type { HostClient } from "../../host/client.ts";
import type { GroupLauncher } from "../../agents/job_groups/submit.ts";
import { artifactsExtension } from "../../host/artifacts/mod.ts";
import { meshExtension } from "../../host/mesh/mesh_extension.ts";
import type { HostOptions } from "../../host/options.ts";
import { mobilityExtension } from "../../host/transfers/mod.ts";
import type { StatusReply } from "../../services/compute_slots/contract.ts";
import { computeSlotsService } from "../../services/compute_slots/service.ts";
import type { ComputeSlotsOptions } from "../../services/compute_slots/service_config.ts";
import { defaultServices, serviceExtension } from "../../services/mod.ts";
import { eventually, type TestHost, testHost } from "../helpers/in_process.ts";

/** The module with `test.failjob` and `test.probejob`. */
export const COMPUTE_JOBS = new URL("./fixtures/compute_jobs.ts", import.meta.url).href;

/** CPU ids this process may use; affinity tests need at least two. */
export const CPUS = eligibleCpuIds();

/** Host environment of the mesh tests: compute-slots and mesh-info gossip and sample quickly. */
export const FAST = {
  PAGLETS_COMPUTE_GOSSIP_MS: "300",
  PAGLETS_COMPUTE_SAMPLE_MS: "500",
  PAGLETS_MESH_INFO_SAMPLE_MS: "2000",
  PAGLETS_MESH_INFO_GOSSIP_MS: "2000",
};

/** Whether CPU-affinity tests can run here; says why not, once, where they are skipped. */
export function affinityTestsSkipped(): boolean {
  if (Deno.build.os === "linux" && CPUS.length >= 2) return false;
  console.log(
    `compute tests: CPU-affinity checks skipped: they need Linux and 2 eligible CPUs (this process has ` +
      `${CPUS.length} on ${Deno.build.os})`,
  );
  return true;
}

/** An in-process host with mesh, services (compute-slots with fast timings), movement. */
export function computeHost(
  options: Partial<HostOptions> & { slots?: ComputeSlotsOptions } = {},
): Promise<TestHost> {
  const { slots, ...hostOptions } = options;
  return testHost({ modules: [COMPUTE_JOBS], gossipIntervalMs: 200, offlineAfterMs: 1500, ...hostOptions }, [
    // The demo types (demo.spinjob, demo.counter), as a host started by the CLI has them.
    examplesExtension(),
    meshExtension(),
    serviceExtension([
      ...defaultServices({ meshInfo: { sampleIntervalMs: 1000, gossipIntervalMs: 1000 } }),
      computeSlotsService({
        sampleIntervalMs: 500,
        gossipIntervalMs: 300,
        usageSampleIntervalMs: 200,
        // These tests are about reservations. The burst gate judges the load of other processes,
        // which on a machine shared with other tests no test controls (scheduler_test.ts and
        // other_cpu_test.ts cover the gate).
        burstLoadPerCpu: 1000,
        ...slots,
      }),
    ]),
    artifactsExtension(),
    mobilityExtension(),
  ]);
}

/** Calls a compute-slots operation over HTTP and returns its reply. */
export async function slots<T = Record<string, unknown>>(
  client: HostClient,
  op: string,
  request: unknown = {},
): Promise<T> {
  const { reply } = await client.request<{ reply: T }>("POST", `/v1/services/compute-slots/${op}`, request);
  return reply;
}

/** A group's launcher that creates and sends through one host's HTTP API, as a script's mesh handle does. */
export function clientLauncher(client: HostClient, entry: string): GroupLauncher {
  return {
    entry,
    create: async (type, options) => {
      const created = await client.createAgent({ type, state: options?.state });
      return { id: created.id, host: created.host };
    },
    send: (target, message) => client.send(target.id, message),
  };
}

/** Whether `home`'s compute-slots lists `peer` among its peers (it can place jobs there). */
export async function knowsScheduler(home: HostClient, peer: string): Promise<boolean> {
  return ((await slotStatus(home, { includePeers: true })).peers ?? []).some((p) => p.hostName === peer);
}

export function slotStatus(client: HostClient, request: Record<string, unknown> = {}): Promise<StatusReply> {
  return slots<StatusReply>(client, "status", request);
}

/** State of a spin job (the fields the tests read). */
export interface SpinState {
  computeStatus: string;
  computeError: string;
  cpuCoreIds: number[];
  observedCpus: number[];
  computeStartedAt: number;
  computeCompletedAt: number;
  computeHostName: string;
  redirectCount: number;
  computeAttempts: number;
  cpuAffinityEnforced: boolean;
  [key: string]: unknown;
}

/** Creates `n` spin jobs with `state` and returns their ids. */
export async function createSpinJobs(
  client: HostClient,
  n: number,
  state: Record<string, unknown>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await client.createAgent({ type: "demo.spinjob", state })).id);
  }
  return ids;
}

export async function jobState<S = SpinState>(client: HostClient, id: string): Promise<S> {
  const record = await client.getAgent(id);
  return record.state as S;
}

/** Waits until every job has left the running states; returns their states. */
export async function waitForJobs(
  client: HostClient,
  ids: string[],
  timeoutMs: number,
  done: (s: SpinState) => boolean = (s) =>
    s.computeStatus === "COMPLETED" || s.computeStatus === "FAILED_FINAL",
): Promise<SpinState[]> {
  return await eventually(
    `${ids.length} jobs to finish`,
    async () => {
      const states = await Promise.all(ids.map((id) => jobState(client, id)));
      return states.every(done) && states;
    },
    timeoutMs,
    50,
  );
}

/** The most `[start, end)` intervals that overlap at any instant. */
export function maxOverlap(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([start, end]) => [[start, 1], [end, -1]] as [number, number][]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, max = 0;
  for (const [, delta] of edges) max = Math.max(max, now += delta);
  return max;
}

/** `Cpus_allowed_list` of a thread of this process. */
export function threadCpus(tid: number): number[] {
  const line = /^Cpus_allowed_list:\s*(.*)$/m.exec(Deno.readTextFileSync(`/proc/self/task/${tid}/status`));
  if (!line) throw new Error(`no Cpus_allowed_list for thread ${tid}`);
  const ids: number[] = [];
  for (const part of line[1].trim().split(",")) {
    const [from, to] = part.split("-").map(Number);
    for (let id = from; id <= (to ?? from); id++) ids.push(id);
  }
  return ids;
}

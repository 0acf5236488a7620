/**
 * Compute jobs of a script's own type across the mesh: `paglets run examples/scripts/sum_jobs.ts [-- N]`.
 *
 * Each `SumJob` sums the squares below its `n` in a pinned compute worker, on whichever host the
 * mesh places it (a host that lacks this script's code fetches it first; the entry host computes
 * only when it is the whole mesh, an embedded host say). The main part creates N jobs, waits for
 * them (bounded), and prints one JSON line per job and a summary; it exits 1 when a job failed.
 */
import {
  computeJobDefaults,
  ComputeJobPaglet,
  computeJobSchema,
  type ComputeJobState,
  connect,
  z,
} from "paglets";

interface SumState extends ComputeJobState {
  n: number;
  sum: string;
  ranOn: string;
}

export class SumJob extends ComputeJobPaglet<SumState> {
  static override readonly type = "scripts.sum-job";
  static override readonly stateSchema = computeJobSchema({ n: z.number().int().min(0).max(1e9) });

  override initialState(): SumState {
    return {
      ...computeJobDefaults({ memoryBytes: 16 * 2 ** 20, estimatedRuntimeSeconds: 1 }),
      n: 1_000_000,
      sum: "",
      ranOn: "",
    };
  }

  /** In a pinned compute worker: no context, results go into the state. */
  override runComputeJob(): void {
    let sum = 0n;
    for (let i = 0n; i < BigInt(this.state.n); i++) sum += i * i;
    this.state.sum = sum.toString();
  }

  /** Back in the paglet, on the host that ran the step. */
  override continueAfterComputeSuccess(): void {
    this.state.ranOn = this.host.name;
  }
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 6);
  const mesh = await connect();
  const alone = (await mesh.hosts({ onlineOnly: true })).length === 1;
  const jobs = [];
  for (let i = 0; i < count; i++) {
    jobs.push(await mesh.create(SumJob.type, { state: { n: 100_000 + i, allowHomeCompute: alone } }));
  }
  const deadline = Date.now() + 120_000;
  const results: Record<string, unknown>[] = [];
  for (const job of jobs) {
    while (true) {
      const record = await mesh.agent(job);
      const state = record?.state as SumState | undefined;
      const done = state?.computeStatus === "COMPLETED" && state.ranOn !== "" ||
        state?.computeStatus === "FAILED_FINAL";
      if (done || Date.now() > deadline) {
        results.push({
          id: job.id,
          status: state?.computeStatus,
          ranOn: state?.ranOn,
          sum: state?.sum,
          ...(state?.computeError ? { error: state.computeError } : {}),
        });
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (const result of results) console.log(JSON.stringify(result));
  console.log(
    JSON.stringify({
      code: mesh.code,
      jobs: results.length,
      hosts: [...new Set(results.map((r) => r.ranOn))],
    }),
  );
  if (results.some((r) => r.status !== "COMPLETED")) Deno.exitCode = 1;
}

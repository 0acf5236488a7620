/**
 * `demo.spinjob`: the smallest compute job, for docs, tests and benchmarks. Its compute step keeps
 * its pinned thread busy for `ms` milliseconds and records when it ran.
 *
 * Create one with `POST /v1/agents {"type": "demo.spinjob", "state": {"cpuCores": 1, "ms": 600}}`;
 * read `computeStatus`, `computeStartedAt`/`computeCompletedAt` (epoch ms), `cpuCoreIds` (the CPU
 * ids its lease reserved) and `observedCpus` (the compute thread's `Cpus_allowed_list` when the
 * step started) from `GET /v1/agents/:id`.
 *
 * @module
 */
import { z } from "zod";
import { ComputeJobPaglet } from "../../agents/compute_job.ts";
import {
  computeJobDefaults,
  computeJobSchema,
  type ComputeJobState,
} from "../../agents/compute_job_state.ts";

/** State of a spin job: the usual estimates plus how long to spin. */
export interface SpinJobState extends ComputeJobState {
  /** How long the compute step keeps its thread busy. @default 600 */
  ms: number;
  /** Epoch ms when the compute step started and ended (0 before). */
  computeStartedAt: number;
  computeCompletedAt: number;
  /** Loop iterations done, so the spin cannot be optimised away. */
  spins: number;
}

export class SpinJob extends ComputeJobPaglet<SpinJobState> {
  static override readonly type = "demo.spinjob";
  static override readonly stateSchema = computeJobSchema({
    ms: z.number({ message: "must be a number of milliseconds" }).min(0).max(24 * 3600 * 1000),
  });

  override initialState(): SpinJobState {
    return {
      // A demo runs on a mesh of one as well: its home host may compute it (jobs default to not).
      ...computeJobDefaults({
        memoryBytes: 16 * 1024 * 1024,
        estimatedRuntimeSeconds: 1,
        allowHomeCompute: true,
      }),
      ms: 600,
      computeStartedAt: 0,
      computeCompletedAt: 0,
      spins: 0,
    };
  }

  /** Busy-waits on the pinned compute thread. */
  override runComputeJob(): void {
    this.state.computeStartedAt = Date.now();
    const until = performance.now() + this.state.ms;
    let spins = 0;
    while (performance.now() < until) spins++;
    this.state.spins = spins;
    this.state.computeCompletedAt = Date.now();
  }
}

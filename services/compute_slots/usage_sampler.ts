/**
 * Usage samples of running compute steps: CPU percent of the step's thread, the process's RSS,
 * bytes in the job's work dir and in the paths it declared. Periodic samples measure everything;
 * the final sample of a step is taken synchronously as it ends (CPU, RSS), and the sizes right
 * after its lease is released, so a directory walk never delays handing the slot on.
 *
 * @module
 */
import { pathBytes, processRssBytes, threadCpuSeconds } from "./probes.ts";
import type { RunningStep, StepRunner } from "./step_runner.ts";
import type { UsageHistory, UsageSample } from "./usage_history.ts";

/** Options of {@linkcode UsageSampler}. */
export interface UsageSamplerOptions {
  /** Minimum gap between periodic samples of a step. */
  intervalMs: number;
  /** The work dir of an agent. */
  workDirOf: (agentId: string) => string;
}

/** Takes usage samples of running steps into a {@linkcode UsageHistory}. */
export class UsageSampler {
  readonly #usage: UsageHistory;
  readonly #options: UsageSamplerOptions;

  constructor(usage: UsageHistory, options: UsageSamplerOptions) {
    this.#usage = usage;
    this.#options = options;
  }

  /** Samples every running step that is due. */
  async sampleRunning(steps: StepRunner): Promise<void> {
    const now = Date.now();
    for (const step of steps.running) {
      if (!this.#usage.dueForSample(step.leaseId, now, this.#options.intervalMs)) continue;
      const declared = this.#usage.get(step.leaseId)?.declaredPaths ?? [];
      const { workDirBytes, pathBytes } = await this.#sizes(step.agentId, declared);
      if (steps.get(step.leaseId) !== step) continue; // ended meanwhile: its final sample is in
      this.#usage.record(step.leaseId, sample(step, workDirBytes, pathBytes));
    }
  }

  /** The last sample of a step as it ends; sizes are the last measured ones (see {@linkcode measureFinished}). */
  finalSample(step: RunningStep): void {
    const last = this.#usage.get(step.leaseId)?.lastSample;
    if (this.#usage.get(step.leaseId)) {
      this.#usage.record(step.leaseId, sample(step, last?.workDirBytes ?? 0, last?.pathBytes));
    }
  }

  /** Sizes of a finished step's work dir and declared paths, added to its history entry. */
  async measureFinished(leaseId: string, agentId: string, declared: readonly string[]): Promise<void> {
    this.#usage.amendFinished(leaseId, await this.#sizes(agentId, declared));
  }

  async #sizes(
    agentId: string,
    declared: readonly string[],
  ): Promise<{ workDirBytes: number; pathBytes?: Record<string, number> }> {
    const workDirBytes = await pathBytes(this.#options.workDirOf(agentId));
    if (declared.length === 0) return { workDirBytes };
    const paths: Record<string, number> = {};
    for (const path of declared) paths[path] = await pathBytes(path);
    return { workDirBytes, pathBytes: paths };
  }
}

/** A sample of a step now; CPU percent since its previous sample (or its start). */
function sample(step: RunningStep, workDirBytes: number, pathBytes?: Record<string, number>): UsageSample {
  const now = Date.now();
  const cpu = threadCpuSeconds(step.tid);
  const since = step.cpuAtSample ?? step.cpuAtStart;
  const wall = (now - step.sampledAt) / 1000;
  const cpuPercent = cpu !== undefined && since !== undefined && wall > 0 ? ((cpu - since) / wall) * 100 : 0;
  step.cpuAtSample = cpu;
  step.sampledAt = now;
  return {
    at: now,
    cpuPercent: Math.max(0, Math.round(cpuPercent * 10) / 10),
    rssBytes: processRssBytes(),
    workDirBytes,
    ...(pathBytes ? { pathBytes } : {}),
  };
}

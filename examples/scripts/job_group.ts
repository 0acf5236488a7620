/**
 * A job group with a collector from a script: `paglets run examples/scripts/job_group.ts [-- N]`.
 *
 * It submits N `WordJob`s (default 20) that report to one collector, waits until every job has
 * reported (bounded), and prints the group's summary as one JSON line. The jobs compute away from
 * the entry host, unless it is the only host (an embedded one, say).
 */
import {
  CollectingComputeJobPaglet,
  type CollectingComputeJobState,
  collectingJobDefaults,
  collectingJobSchema,
  connect,
  submitComputeJobGroup,
  z,
} from "paglets";

interface WordState extends CollectingComputeJobState {
  text: string;
  words: number;
}

export class WordJob extends CollectingComputeJobPaglet<WordState> {
  static override readonly type = "scripts.word-job";
  static override readonly stateSchema = collectingJobSchema({ text: z.string() });

  override initialState(): WordState {
    return {
      ...collectingJobDefaults({ memoryBytes: 16 * 2 ** 20, estimatedRuntimeSeconds: 1 }),
      text: "",
      words: 0,
    };
  }

  /** In a pinned compute worker. */
  override runComputeJob(): void {
    this.state.words = this.state.text.split(/\s+/).filter(Boolean).length;
  }

  /** What the collector receives. */
  override buildResultPayload(): unknown {
    return { words: this.state.words, ranOn: this.state.computeHostName };
  }
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 20);
  const mesh = await connect();
  // The entry host computes only when it is the whole mesh (an embedded host, say).
  const alone = (await mesh.hosts({ onlineOnly: true })).length === 1;
  const states = Array.from({ length: count }, (_, i) => ({
    text: "a few words ".repeat(i + 1),
    allowHomeCompute: alone,
  }));
  const group = await submitComputeJobGroup(mesh, WordJob, states);
  const summary = await group.drain({ timeoutMs: 120_000 });
  console.log(JSON.stringify({
    groupId: summary.groupId,
    results: summary.completedCount,
    failures: summary.failedCount,
    hosts: [...new Set(Object.values(summary.results).map((r) => (r.result as { ranOn: string }).ranOn))]
      .sort(),
  }));
  // The command's exit status says whether every job did its work.
  if (summary.failedCount > 0) Deno.exitCode = 1;
}

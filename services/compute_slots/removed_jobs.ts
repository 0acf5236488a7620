/**
 * A group's job disposed while it sleeps (what `paglets jobs rm` removes: a job waiting for a slot)
 * runs no code, so its `onDisposing` cannot tell its collector. The host does it for the job: from
 * the record the job had, it sends what the job would have (agents/job_groups/removal.ts): its
 * report on its way, else a failure at stage `removed`, so the group still completes. One try, not
 * awaited by the disposal; a collector out of reach is not asked again.
 *
 * @module
 */
import { decodeCbor } from "../../agents/cbor.ts";
import { callOperation } from "../../agents/operations.ts";
import { JobFailure, JobResult } from "../../agents/job_groups/contract.ts";
import { removalReport } from "../../agents/job_groups/removal.ts";
import { AgentRuntime } from "../../host/kernel/agent_runtime.ts";
import type { AgentRecord } from "../../host/storage/agent_store.ts";
import type { ServiceHost } from "../service_host.ts";

/** Tells the collectors of group jobs disposed asleep on this host, from now until the returned stop. */
export function reportRemovedJobs(host: ServiceHost): () => void {
  const runtime = host.kernel.runtime;
  const gone = (id: string, why: string, asleep?: AgentRecord) => {
    if (why !== "dispose" || !asleep?.state.length) return;
    let state: unknown;
    try {
      state = decodeCbor(asleep.state);
    } catch {
      return; // not a state this host can read: not one of a group's jobs either
    }
    if (state === null || typeof state !== "object") return;
    const removal = removalReport(state, { agentId: id, hostName: host.info.name, hostUrl: host.info.url });
    if (!removal) return;
    const { collector, timeoutMs } = removal;
    void callOperation(
      (m) =>
        host.kernel.router.request(collector.id, AgentRuntime.message(m, id), {
          targetHost: collector.host,
          timeoutMs,
        }),
      removal.kind === "result" ? JobResult : JobFailure,
      removal.report,
    ).catch(() => {/* out of reach: the group waits for this job, as for one removed where no host runs */});
  };
  runtime.onGone.add(gone);
  return () => runtime.onGone.delete(gone);
}

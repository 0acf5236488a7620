/**
 * The compute step of a {@link ComputeJobPaglet}: runs inside a compute worker thread (pinned to
 * the lease's CPU ids by the host), never in the paglet's own worker.
 *
 * The step imports the module that defines the job's class, makes a fresh instance with a copy of
 * the job's state and calls its `runComputeJob()`. The instance has no host context there (every
 * context call but `workDir()` fails with `not_supported`): a compute step computes and writes its results into
 * `this.state`, whose fields the paglet takes over when the step returns.
 *
 * @module
 */
import { PagletError } from "./errors.ts";
import type { HostInfo, PagletContext } from "./context.ts";
import { isPagletClass, type Paglet } from "./paglet.ts";
// A job's module may be travelling code (a data: URL reading the SDK from globalThis).
import "./sdk_global.ts";

/** What the paglet side sends to {@link runComputeJobStep}. */
export interface ComputeJobStepArgs {
  /** Module that exports the job's paglet class. */
  moduleUrl: string;
  /** The job's paglet type. */
  type: string;
  agentId: string;
  host: HostInfo;
  state: Record<string, unknown>;
  /** The job's work dir on this host: `context.workDir()` answers it inside the step. */
  workDir?: string;
}

/** The export name the host calls in this module. */
export const COMPUTE_JOB_STEP_EXPORT = "runComputeJobStep";

/** A job instance that can compute. */
interface Computing {
  runComputeJob(): unknown;
}

/** The contexts compute steps run with (see {@link insideComputeStep}). */
const STEP_CONTEXTS = new WeakSet<object>();

/** Is this the context of a compute step (no host behind it), not a paglet's? */
export function insideComputeStep(context: PagletContext | undefined): boolean {
  return !!context && STEP_CONTEXTS.has(context);
}

/** A context whose every call but `workDir()` explains that compute steps run without one. */
function stepContext(agentId: string, host: HostInfo, workDir: string | undefined): PagletContext {
  const known: Record<string, unknown> = { agentId, host };
  if (workDir) known.workDir = () => Promise.resolve(workDir);
  const context = new Proxy(known, {
    get(target, prop) {
      if (typeof prop !== "string") return undefined;
      if (prop in target) return target[prop];
      if (prop === "then") return undefined;
      return () =>
        Promise.reject(
          new PagletError(
            "not_supported",
            `context.${prop}() is not available inside runComputeJob(): it runs in a compute worker ` +
              `without a host context. Compute there and keep the results in this.state; fetch inputs in ` +
              `prepareCompute() (before the step, on its host) and do host work after it in ` +
              `continueAfterComputeSuccess()`,
          ),
        );
    },
  }) as unknown as PagletContext;
  STEP_CONTEXTS.add(context);
  return context;
}

/**
 * Runs `runComputeJob()` of a fresh instance of the job's class on a copy of its state and returns
 * the state afterwards. Called by the host's compute worker, not by user code.
 */
export async function runComputeJobStep(args: ComputeJobStepArgs): Promise<Record<string, unknown>> {
  const mod = await import(args.moduleUrl) as Record<string, unknown>;
  const cls = Object.values(mod).find((value) => isPagletClass(value) && value.type === args.type);
  if (!cls || !isPagletClass(cls)) {
    throw new TypeError(
      `Cannot run compute job as module ${args.moduleUrl} exports no paglet class of type '${args.type}'`,
    );
  }
  const job = new cls() as unknown as Paglet<Record<string, unknown>> & Partial<Computing>;
  if (typeof job.runComputeJob !== "function") {
    throw new TypeError(`Cannot run compute job as type '${args.type}' has no runComputeJob() method`);
  }
  job.id = args.agentId;
  job.state = args.state;
  job.context = stepContext(args.agentId, args.host, args.workDir);
  await job.runComputeJob();
  return job.state;
}

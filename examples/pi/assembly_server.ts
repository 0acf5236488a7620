/**
 * The worker side of an AssemblyClient (assembly_client.ts): one job's PiAssembly (its blocks, √10005
 * and power caches) on the pi worker that got the port, running its requests strictly one after
 * another, between the tasks that worker runs. Its helper is another pi worker, reached over the port
 * that comes with `open`.
 *
 * @module
 */
import { type EndCorrection, PiAssembly } from "./assembly.ts";
import type { AssemblyReply, AssemblyRequest } from "./assembly_client.ts";
import { PortTaskRunner } from "./task_port.ts";
import { failedReply } from "./replies.ts";
import { gmpEngine } from "./gmp_engine.ts";
import { withDigitBytes } from "./digit_bytes.ts";

/** Serves the assembly requests that come over `port`. */
export function serveAssembly(port: MessagePort): void {
  let assembly: PiAssembly | undefined;
  let helper: PortTaskRunner | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  /** The correction an add announced (`deltaFollows`), until its own message brings it. */
  let following: PromiseWithResolvers<EndCorrection | undefined> | undefined;

  const opened = (): PiAssembly => {
    if (!assembly) throw new Error("the Pi assembly is not open");
    return assembly;
  };

  /** `delta`: the correction an add announced, to come in a message of its own. */
  const handle = async (
    request: Exclude<AssemblyRequest, { op: "delta" }>,
    delta?: Promise<EndCorrection | undefined>,
  ): Promise<unknown> => {
    switch (request.op) {
      case "open":
        helper = request.helper ? new PortTaskRunner(request.helper) : undefined;
        assembly = new PiAssembly(request.job, helper);
        return null;
      case "add":
        return withDigitBytes(await opened().add(request.fragment, request.splitAt, delta ?? request.delta));
      case "flush":
        return withDigitBytes(opened().flush());
      case "close":
        assembly = undefined;
        following?.resolve(undefined);
        following = undefined;
        gmpEngine()?.releaseRoot();
        helper?.close();
        port.close();
        return null;
    }
  };

  port.onmessage = (event: MessageEvent<AssemblyRequest>) => {
    const request = event.data;
    // The correction comes ahead of the queue: the add that announced it may be waiting for it there.
    if (request.op === "delta") {
      following?.resolve(request.delta);
      following = undefined;
      return;
    }
    let delta: Promise<EndCorrection | undefined> | undefined;
    if (request.op === "add" && request.deltaFollows) {
      following?.resolve(undefined);
      following = Promise.withResolvers();
      delta = following.promise;
    }
    queue = queue.then(() => handle(request, delta)).then(
      (result) => {
        if (request.op !== "close") {
          port.postMessage({ id: request.id, ok: true, result } satisfies AssemblyReply);
        }
      },
      (e) => port.postMessage(failedReply(request.id, e) satisfies AssemblyReply),
    ).then(() => {
      // After the answer is on its way: work for the end that need not hold back the new digits.
      if (request.op === "add") assembly?.prepare();
      // The batch with the end's left part usually runs on this thread next (math_service.ts puts
      // the others elsewhere first); if not, the root waits here unused until the assembly closes.
      if (request.op === "open") assembly?.prepareRoot();
    }).catch((e) =>
      console.error(`pi assembly: preparing the end failed: ${e instanceof Error ? e.message : e}`)
    );
  };
  port.start();
}

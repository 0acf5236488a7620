/** The worker-side PagletContext: every call crosses to the kernel as the `context` operation (protocol.ts). */
import type {
  AgentRef,
  ComputeStepOutcome,
  ComputeStepSpec,
  HostInfo,
  PagletContext,
  PersistentStorage,
} from "../../agents/context.ts";
import { FutureReply, ReplySet } from "../../agents/futures.ts";
import { requirePlainData } from "../../agents/wire.ts";
import { PagletError } from "../../agents/errors.ts";
import type { ContextOpMap, KernelOps, WorkerOps } from "./protocol.ts";
import type { PortRpc } from "./port_rpc.ts";

/**
 * The context of one paglet instance. `isLive` says whether the instance is still the one running
 * under its id in this worker: once it left (dispatched, deactivated, disposed, or restarted
 * elsewhere after a move that failed late), code of it that runs on (the rest of a handler, its
 * `run()`) can no longer act for the paglet: every call fails with `state_conflict`.
 */
export function createWorkerContext(
  kernel: PortRpc<WorkerOps, KernelOps>,
  agentId: string,
  host: HostInfo,
  isLive: () => boolean,
): PagletContext {
  const call = <K extends keyof ContextOpMap>(op: K, ...args: ContextOpMap[K][0]) => {
    if (!isLive()) {
      return Promise.reject(
        new PagletError(
          "state_conflict",
          `Paglet ${agentId} cannot ${op}: this instance has left (it was dispatched, deactivated or disposed, or a move of it is unconfirmed); code after such a call should only return`,
        ),
      );
    }
    return kernel.call("context", [op, agentId, args]) as Promise<ContextOpMap[K][1]>;
  };
  const targetId = (t: string | AgentRef) => typeof t === "string" ? t : t.id;
  const targetHost = (t: string | AgentRef) => typeof t === "string" ? undefined : t.host;

  const storage: PersistentStorage = {
    readBytes: (path) => call("storage.read", path),
    writeBytes: (path, data) => call("storage.write", path, data),
    readText: async (path) => {
      const bytes = await call("storage.read", path);
      return bytes ? new TextDecoder().decode(bytes) : null;
    },
    writeText: (path, text) => call("storage.write", path, new TextEncoder().encode(text)),
    delete: (path) => call("storage.delete", path),
    list: () => call("storage.list"),
    status: () => call("storage.status"),
  };

  const context: PagletContext = {
    agentId,
    host,
    isCurrent: isLive,
    create: async (type, options) => {
      requirePlainData(options?.state, `Cannot create a '${type}' paglet`, "state");
      requirePlainData(options?.args, `Cannot create a '${type}' paglet`, "args");
      return await call("create", type, options ?? {});
    },
    send: async (target, message, options) => {
      requirePlainData(
        message?.args,
        `Cannot send message '${message?.kind}' to ${targetId(target)}`,
        "args",
      );
      return await call("send", targetId(target), targetHost(target), message, options ?? {});
    },
    sendOneway: async (target, message, options) => {
      requirePlainData(
        message?.args,
        `Cannot send message '${message?.kind}' to ${targetId(target)}`,
        "args",
      );
      await call("send", targetId(target), targetHost(target), message, { ...options, oneway: true });
    },
    sendFuture: (target, message, options) => new FutureReply(context.send(target, message, options)),
    multicast: async (message, options) => {
      const ids = await call("multicast.targets", options ?? {});
      const set = new ReplySet();
      for (const id of ids) set.add(context.sendFuture(id, message));
      return set;
    },
    dispose: (target) =>
      target === undefined ? call("dispose", agentId) : call("dispose", targetId(target), targetHost(target)),
    deactivate: (policy) => call("deactivate", policy ?? {}),
    dispatch: (target) => call("dispatch", target),
    clone: (target) => call("clone", target ?? null),
    retract: (id, from) => call("retract", id, from),
    agents: (options) => call("agents", options ?? {}),
    hosts: (options) => call("hosts", options ?? {}),
    waitForHost: (nameOrUrl, timeoutMs = 10_000) => call("waitForHost", nameOrUrl, timeoutMs),
    isHostOnline: (nameOrUrl) => call("isHostOnline", nameOrUrl),
    workDir: () => call("workDir"),
    persistentStorage: () => storage,
    registerFile: async (path, options) => {
      await call("registerFile", path, options ?? {});
    },
    filePath: (name) => call("filePath", name),
    unregisterFile: (name) => call("unregisterFile", name),
    uploadArtifact: (path, options) => call("uploadArtifact", path, options ?? {}),
    downloadArtifact: (ref, options) => call("downloadArtifact", ref, options ?? {}),
    deleteArtifact: (ref) => call("deleteArtifact", ref),
    callService: (service, op, request, options) =>
      call("callService", service, op, request ?? {}, options ?? {}),
    lookupService: (service, options) => call("services.lookup", service, options?.scope ?? "mesh"),
    notifyUser: (severity, title, text, fields) =>
      call("notifyUser", severity, title, text, fields ?? {}).catch(() => false),
    events: (since, limit) => call("events", since ?? 0, limit ?? 100),
    runCompute: <R>(step: ComputeStepSpec) => call("compute.run", step) as Promise<ComputeStepOutcome<R>>,
    codeModuleUrl: (hash, from) => call("code.module", hash, from),
  };
  return context;
}

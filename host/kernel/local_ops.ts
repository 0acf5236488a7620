/** Context operations served by this host alone (agents, messages, storage, scratch, events). */
import { PagletError } from "../../agents/errors.ts";
import type { CreateOptions, HostInfo, MeshHost } from "../../agents/context.ts";
import type { MessageInput, SendOptions } from "../../agents/message.ts";
import { dataUrlOf } from "../code/data_url.ts";
import { requestedPolicy } from "../../agents/policy.ts";
import { AgentRuntime } from "./agent_runtime.ts";
import type { Host } from "../host.ts";

/** The mesh view of a host that is not (yet) part of a mesh: itself. */
export function selfAsMeshHost(info: HostInfo): MeshHost {
  return { ...info, online: true, lastSeen: Date.now() };
}

export function registerLocalOps(host: Host): void {
  const rt = host.runtime;
  const isSelf = (target?: string) => !target || target === host.info.url || target === host.info.name;

  host.ops.registerAll({
    create: async (from: string, type: string, options: CreateOptions) => {
      const code = options.code ?? await creatorsCode(host, from, type);
      if (!isSelf(options.host)) {
        if (!host.remote) throw new PagletError("not_supported", "This host is not part of a mesh");
        return await host.remote.create(options.host!, type, { ...options, code });
      }
      const record = await rt.create({
        type,
        state: options.state,
        args: options.args,
        id: options.id,
        code,
      });
      return { id: record.id, host: host.info.url };
    },
    send: async (
      from: string,
      target: string,
      targetHost: string | undefined,
      input: MessageInput,
      options: SendOptions & { oneway?: boolean },
    ) => {
      const message = AgentRuntime.message(input, from);
      // A reply is waited for 30 s unless the paglet says otherwise (SendOptions): a paglet that
      // waits on itself, or on one that waits on it, fails then instead of hanging for ever.
      const timeoutMs = options.oneway ? options.timeoutMs : options.timeoutMs ?? host.sendTimeoutMs;
      return await host.router.request(target, message, { ...options, timeoutMs, targetHost });
    },
    "multicast.targets": (from: string, options: { exclude?: string[]; includeSelf?: boolean }) => {
      const exclude = new Set(options.exclude ?? []);
      if (!options.includeSelf) exclude.add(from);
      return rt.liveIds().filter((id) => !exclude.has(id));
    },
    dispose: async (from: string, target: string, targetHost?: string) => {
      // Disposing oneself from a handler ends the paglet once that handler has returned.
      if (target === from) return await rt.leaveSelf(from, () => rt.dispose(from));
      // Here (also under an address this host had before) or with no mesh to go to: disposed here.
      if (isSelf(targetHost) || !host.remote || rt.isHere(target)) return await rt.dispose(target);
      await host.remote.dispose(targetHost!, target);
    },
    deactivate: async (from: string, input: Record<string, unknown>) => {
      // Checked at the call: from a handler the deactivation itself comes once the handler returned.
      const policy = requestedPolicy(input);
      await rt.leaveSelf(from, () => rt.deactivate(from, policy, "self"));
    },
    agents: async (_from: string, filter: { status?: "active" | "inactive"; type?: string }) => {
      const records = await rt.store.list({ status: filter.status, type: filter.type });
      return records.map((r) => ({ id: r.id, type: r.type, status: r.status }));
    },
    hosts: (_from: string, options: { onlineOnly?: boolean } = {}) =>
      host.remote ? host.remote.hosts(options) : [selfAsMeshHost(host.info)],
    isHostOnline: (_from: string, nameOrUrl: string) =>
      host.remote ? host.remote.isOnline(nameOrUrl) : isSelf(nameOrUrl),
    waitForHost: (_from: string, nameOrUrl: string, timeoutMs: number) =>
      host.remote ? host.remote.waitForHost(nameOrUrl, timeoutMs) : isSelf(nameOrUrl),
    workDir: (from: string) => host.workDirs.ensure(from),
    "storage.read": (from: string, path: string) => host.storage.read(typeOf(host, from), path),
    "storage.write": (from: string, path: string, data: Uint8Array) =>
      host.storage.write(typeOf(host, from), path, data),
    "storage.delete": (from: string, path: string) => host.storage.delete(typeOf(host, from), path),
    "storage.list": (from: string) => host.storage.list(typeOf(host, from)),
    "storage.status": (from: string) => host.storage.status(typeOf(host, from)),
    events: (_from: string, since: number, limit: number) => host.events.since(since, limit),
    "code.module": async (_from: string, hash: string, fromHost: string | undefined) =>
      dataUrlOf(await host.code.source(hash, fromHost)),
    notifyUser: (
      from: string,
      severity: string,
      title: string,
      text: string,
      fields: Record<string, unknown>,
    ) => {
      host.events.emit("user-notify", { agentId: from, data: { severity, title, text, fields } });
      return true;
    },
  });
}

/** The module of agent `from` when it defines `type`: a script's paglets create each other by name. */
async function creatorsCode(host: Host, from: string, type: string): Promise<string | undefined> {
  const code = host.runtime.inWorker(from)?.meta.code;
  if (typeof code !== "string") return undefined;
  return (await host.code.ensure(code)).includes(type) ? code : undefined;
}

function typeOf(host: Host, agentId: string): string {
  const agent = host.runtime.inWorker(agentId);
  if (!agent) throw new PagletError("agent_not_found", `Agent ${agentId} is not active`);
  return agent.type;
}

/**
 * `user-info`: keeps notifications (a ring of the last 1000 per host, surviving lazy stops) and
 * publishes them as host events, which `paglets follow` and the dashboard stream over SSE.
 *
 * It also serves the paglet context's `notifyUser(severity, title, text, fields)`: delivered to
 * the user-info of `fields.homeHost` (a name or URL, e.g. the entry host a job was started from)
 * or of this host. Delivery problems never fail the paglet: it gets `false`, and a notification
 * whose home could not be reached is kept here instead (with `fields.deliveryError`).
 *
 * @module
 */
import type { Severity } from "../../agents/context.ts";
import { defineService, type ServiceDefinition } from "../contract.ts";
import type { ServiceHost } from "../service_host.ts";
import { type NotifyRequest, USER_NOTIFY_EVENT, USER_STREAM_EVENT, UserInfoContract } from "./contract.ts";
import { NotificationLog } from "./notification_log.ts";

/** Options of {@link userInfoService}. */
export interface UserInfoOptions {
  /** Notifications kept per host. @default 1000 */
  capacity?: number;
  /** How long `notifyUser` waits for a remote home host. @default 5000 */
  deliveryTimeoutMs?: number;
}

/** The user-info service definition. */
export function userInfoService(options: UserInfoOptions = {}): ServiceDefinition {
  const { capacity = 1000, deliveryTimeoutMs = 5000 } = options;
  return defineService(
    UserInfoContract,
    (host) => {
      const log = host.keep("notifications", () => new NotificationLog(capacity));
      return {
        handlers: {
          notify: (request, call) => {
            const notification = log.add({
              at: request.timestamp ?? Date.now(),
              severity: request.severity,
              title: request.title,
              text: request.text,
              fields: request.fields,
              sourceAgentId: request.sourceAgentId ?? call.agentId ?? null,
              jobId: request.jobId ?? null,
              hostName: host.info.name,
            });
            host.events.emit(USER_NOTIFY_EVENT, {
              agentId: notification.sourceAgentId ?? undefined,
              data: notification,
            });
            return { ok: true, id: notification.id };
          },
          stream: async ({ streamId, text, target }, call) => {
            // The calling paglet and its type, as the host knows them (a call over HTTP names none):
            // the dashboard's Pi panel shows only what a Pi coordinator streams.
            const type = call.agentId
              ? host.kernel.runtime.inWorker(call.agentId)?.type ?? (await host.store.get(call.agentId))?.type
              : undefined;
            host.events.emit(USER_STREAM_EVENT, {
              agentId: call.agentId,
              ...(type ? { type } : {}),
              data: { streamId, text, target, hostName: host.info.name },
            });
            return { ok: true };
          },
          recent: ({ since, sinceTime, limit }) => ({
            notifications: log.recent(since, limit, sinceTime),
            lastId: log.lastId,
          }),
        },
      };
    },
    { contextOps: (host) => ({ notifyUser: notifyUserOp(host, deliveryTimeoutMs) }) },
  );
}

/** The kernel side of `context.notifyUser`; resolves to whether the home host got it. */
export function notifyUserOp(host: ServiceHost, timeoutMs: number) {
  return async (
    agentId: string,
    severity: Severity,
    title: string,
    text: string,
    fields: Record<string, unknown> = {},
  ): Promise<boolean> => {
    const { homeHost, jobId, ...rest } = fields ?? {};
    const request: NotifyRequest = {
      severity,
      title,
      text: text ?? "",
      fields: rest,
      sourceAgentId: agentId,
      jobId: jobId === undefined || jobId === null ? undefined : String(jobId),
      timestamp: Date.now(),
    };
    const home = typeof homeHost === "string" && homeHost && !host.isSelf(homeHost) ? homeHost : undefined;
    try {
      await host.call(UserInfoContract.name, "notify", request, { host: home, timeoutMs });
      return true;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      host.events.emit("user-notify-failed", {
        agentId,
        data: { title, homeHost: home ?? null },
        error: reason,
      });
      if (!home) return false;
      // Keep it here rather than lose it; the paglet still learns that home did not get it.
      await host.call(UserInfoContract.name, "notify", {
        ...request,
        fields: { ...rest, homeHost: home, deliveryError: reason },
      })
        .catch(() => {});
      return false;
    }
  };
}

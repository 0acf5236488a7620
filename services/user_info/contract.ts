/**
 * The `user-info` contract: notifications and streamed text for the people watching the mesh.
 * Lazy, offered to the mesh. Notifications are kept (the last 1000) and published as host events
 * `user-notify`; streamed text as `user-stream` (see `paglets follow`).
 *
 * @module
 */
import { z } from "zod";
import { operation } from "../../agents/operations.ts";
import { serviceContract } from "../contract.ts";

export const Severity = z.enum(["info", "warning", "error"]);

export const NotifyRequest = z.object({
  severity: Severity.default("info"),
  title: z.string().min(1).max(500),
  text: z.string().max(65_536).default(""),
  /** Extra facts shown with the notification (JSON values). */
  fields: z.record(z.string(), z.unknown()).default({}),
  sourceAgentId: z.string().max(200).optional(),
  jobId: z.string().max(200).optional(),
  /** Epoch ms when it happened; default: when it arrived. */
  timestamp: z.number().optional(),
});
export type NotifyRequest = z.infer<typeof NotifyRequest>;

/** A kept notification. */
export const Notification = z.object({
  /** Sequence number on the host that keeps it (ascending). */
  id: z.number().int(),
  /** Epoch ms. */
  at: z.number(),
  severity: Severity,
  title: z.string(),
  text: z.string(),
  fields: z.record(z.string(), z.unknown()),
  sourceAgentId: z.string().nullable(),
  jobId: z.string().nullable(),
  /** The host that keeps it. */
  hostName: z.string(),
});
export type Notification = z.infer<typeof Notification>;

export const NotifyReply = z.object({ ok: z.boolean(), id: z.number().int() });

export const StreamRequest = z.object({
  /** Groups the chunks of one output (e.g. a Pi job id). */
  streamId: z.string().max(200).default(""),
  text: z.string().max(1_048_576),
  target: z.enum(["stdout", "stderr"]).default("stdout"),
});
export type StreamRequest = z.infer<typeof StreamRequest>;

export const StreamReply = z.object({ ok: z.boolean() });

export const RecentRequest = z.object({
  /** Only notifications with a larger id. */
  since: z.number().int().min(0).default(0),
  /** Only notifications at or after this epoch ms. */
  sinceTime: z.number().min(0).default(0),
  limit: z.number().int().min(1).max(1000).default(100),
});

export const RecentReply = z.object({
  notifications: z.array(Notification),
  /** The largest id kept so far (0 when none). */
  lastId: z.number().int(),
});

export const Notify = operation("notify", NotifyRequest, NotifyReply);
export const Stream = operation("stream", StreamRequest, StreamReply);
export const Recent = operation("recent", RecentRequest, RecentReply);

export const UserInfoContract = serviceContract({
  name: "user-info",
  version: "1",
  description: "Notifications and streamed output for the people watching the mesh",
  scope: "mesh",
  lifecycle: "lazy",
  idleTimeoutMs: 30_000,
  operations: { notify: Notify, stream: Stream, recent: Recent },
});

/** Host event kinds user-info publishes. */
export const USER_NOTIFY_EVENT = "user-notify";
export const USER_STREAM_EVENT = "user-stream";

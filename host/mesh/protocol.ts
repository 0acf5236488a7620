/**
 * The wire form of `POST /v1/mesh/gossip` (see docs/mesh.md).
 *
 * A request carries the sender's mesh version, its name and URL, its own full record, and
 * usually a digest of everything it knows. The answer carries only what the sender lacks: full
 * records of members it does not know (or knows an older incarnation of), newer heartbeats of
 * members it knows, and the names the answering host wants full records of. A request without a
 * digest is a plain push (the follow-up to `wants`, or a clean leave) and gets an empty answer.
 */
import { z } from "zod";
import type { DigestEntry, MemberRecord } from "./membership.ts";
import { BASE_URL_PATTERN, HOST_NAME_PATTERN, RECORD_LIMITS } from "./record_limits.ts";

/** Upper bound on members in one message; far above any mesh this is built for. */
export const MAX_MEMBERS_PER_MESSAGE = 10_000;

const name = z.string().regex(HOST_NAME_PATTERN, "must be a host name");
const url = z.string().max(RECORD_LIMITS.url).regex(
  BASE_URL_PATTERN,
  "must be a base URL like http://10.0.0.5:8765",
);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const MemberRecordSchema: z.ZodType<MemberRecord> = z.object({
  name,
  url,
  meshVersion: z.string().min(1).max(RECORD_LIMITS.meshVersion),
  tags: z.array(z.string().max(RECORD_LIMITS.tag)).max(RECORD_LIMITS.tags),
  properties: z.record(
    z.string().max(RECORD_LIMITS.propertyKey),
    z.string().max(RECORD_LIMITS.propertyValue),
  ),
  cpuCount: z.number().int().min(0).max(1_000_000),
  version: z.string().min(1).max(200).optional(),
  hostId: z.string().regex(/^[0-9a-f]{32}$/, "must be 32 lowercase hex digits").optional(),
  incarnation: count,
  heartbeat: count,
  ageMs: count,
});

export const DigestEntrySchema: z.ZodType<DigestEntry> = z.tuple([name, count, count, count]);

/** A gossip request: a push-pull exchange (with `digest`) or a plain push (without). */
export interface GossipRequest {
  meshVersion: string;
  from: { name: string; url: string };
  digest?: DigestEntry[];
  records?: MemberRecord[];
}

/** The answer: only what the requester lacks, and what the answering host wants. */
export interface GossipResponse {
  meshVersion: string;
  /**
   * The answering host (absent from hosts that predate it): a host that reaches itself through
   * another address of its own (a `--peer` alias) sees its own name and incarnation here.
   */
  from?: { name: string; url: string; incarnation: number };
  records: MemberRecord[];
  heartbeats: DigestEntry[];
  wants: string[];
}

export const GossipRequestSchema: z.ZodType<GossipRequest> = z.object({
  meshVersion: z.string().min(1).max(RECORD_LIMITS.meshVersion),
  from: z.object({ name, url }),
  digest: z.array(DigestEntrySchema).max(MAX_MEMBERS_PER_MESSAGE).optional(),
  records: z.array(MemberRecordSchema).max(MAX_MEMBERS_PER_MESSAGE).optional(),
});

export const GossipResponseSchema: z.ZodType<GossipResponse> = z.object({
  meshVersion: z.string(),
  from: z.object({ name, url, incarnation: count }).optional(),
  records: z.array(MemberRecordSchema).max(MAX_MEMBERS_PER_MESSAGE),
  heartbeats: z.array(DigestEntrySchema).max(MAX_MEMBERS_PER_MESSAGE),
  wants: z.array(name).max(MAX_MEMBERS_PER_MESSAGE),
});

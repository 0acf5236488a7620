/**
 * The typed operations of the Pi job: what the CLI and scripts send to the coordinator, what the
 * coordinator sends to batch workers and to the post-processor. Requests are validated where they
 * arrive (routeOperations), so every bound below is enforced at the boundary.
 *
 * @module
 */
import { z } from "zod";
import { operation } from "../../agents/operations.ts";
import { groupThousands } from "./format.ts";

/** Positions beyond this are refused (start + digits): 100 million digits need ~10 GiB of memory. */
export const MAX_DIGIT_POSITION = 100_000_000;

/**
 * Test-only fault injection: batch workers answer as if the host were busy or the batch failed; the
 * coordinator and its post-processor hold still where a crash would leave helpers behind.
 */
export const PiFaults = z.object({
  /** Batches whose first attempt answers `skipped`. */
  skipBatches: z.array(z.number().int().min(0)).default([]),
  /** Batches whose first `times` attempts fail. */
  failBatches: z.array(z.object({ index: z.number().int().min(0), times: z.number().int().min(1) })).default(
    [],
  ),
  /** Host names on which every batch fails. */
  failHosts: z.array(z.string().min(1)).default([]),
  /** `pi.start_async` answers only once the job ended: the job's state is stored only then. */
  holdStart: z.boolean().default(false),
  /** The post-processor's disposal waits in its `onDisposing` until the host gives up on it (10 s). */
  holdPostProcessorDispose: z.boolean().default(false),
});
export type PiFaults = z.infer<typeof PiFaults>;

/** A Pi job: which digits, and how to place its batches. */
export const PiJobRequest = z.object({
  /** Number of digits (position 0 is the "3"). */
  digits: z.number().int().min(1).max(MAX_DIGIT_POSITION),
  /** First position. */
  start: z.number().int().min(0).max(MAX_DIGIT_POSITION).default(0),
  /** Terms per batch; 0 chooses from the digit count and the free slots. */
  batchSize: z.number().int().min(0).default(0),
  /** Batches running at once for the whole job; 0 = as many as the slots allow. */
  maxInFlight: z.number().int().min(0).default(0),
  /** Batches running at once on one host; 0 = as many as its slots allow. */
  maxWorkersPerHost: z.number().int().min(0).default(0),
  /** Hosts with load1 / cpus above this take no batches; sets their free slots. */
  maxLoadPerCpu: z.number().positive().default(1.0),
  /** Hosts busier than this (percent of all CPUs) take no batches. */
  maxCpuPercent: z.number().min(0).max(100).default(100),
  /** Hosts with less available memory take no batches. */
  minMemoryBytes: z.number().min(0).default(0),
  /** Hosts with less free space in their work dir take no batches. */
  minDiskBytes: z.number().min(0).default(0),
  /** Digits streamed before the end come in pieces of at least this many. */
  streamChunkSize: z.number().int().min(1).max(MAX_DIGIT_POSITION).default(8192),
  /** Job timeout; 0 = none. */
  timeoutSeconds: z.number().min(0).default(0),
  /** Absolute path (on the entry host) the digits are written to, or null. */
  outputPath: z.string().min(1).refine((p) => p.startsWith("/"), "must be an absolute path").nullable()
    .default(
      null,
    ),
  /** Attempts per batch before the job fails. */
  maxAttempts: z.number().int().min(1).max(20).default(3),
  faults: PiFaults.optional(),
}).refine((r) => r.start + r.digits <= MAX_DIGIT_POSITION, {
  message: `start + digits must be at most ${groupThousands(MAX_DIGIT_POSITION)}`,
  path: ["start"],
});
export type PiJobRequest = z.infer<typeof PiJobRequest>;
export type PiJobInput = z.input<typeof PiJobRequest>;

export const PiStatus = z.enum(["idle", "running", "done", "failed", "cancelled"]);
export type PiStatus = z.infer<typeof PiStatus>;

/** Compact counters, cheap to send with every drain. */
export const PiProgress = z.object({
  status: PiStatus,
  digits: z.number().int(),
  digitsEmitted: z.number().int(),
  terms: z.number().int(),
  termsDone: z.number().int(),
  batches: z.number().int(),
  batchesDone: z.number().int(),
  batchesRunning: z.number().int(),
  hostsUsed: z.number().int(),
  retries: z.number().int(),
  skipped: z.number().int(),
  elapsedMs: z.number(),
});
export type PiProgress = z.infer<typeof PiProgress>;

/** The summary of a job (final once status is no longer `running`). */
export const PiSummary = z.object({
  jobId: z.string(),
  status: PiStatus,
  start: z.number().int(),
  digits: z.number().int(),
  digitsEmitted: z.number().int(),
  terms: z.number().int(),
  batchSize: z.number().int(),
  batches: z.number().int(),
  batchesDone: z.number().int(),
  /** Names of the hosts that computed at least one batch. */
  hostsUsed: z.array(z.string()),
  /** Batches computed per host name. */
  batchesPerHost: z.record(z.string(), z.number().int()),
  /** Batches computed per arithmetic: `gmp` (GMP through FFI) or `bigint` (BigInt alone). */
  batchesByArithmetic: z.record(z.string(), z.number().int()),
  retries: z.number().int(),
  skipped: z.number().int(),
  failures: z.number().int(),
  fallbacks: z.number().int(),
  wallTimeMs: z.number(),
  /** Until the first digits were ready on the entry host. */
  firstDigitsMs: z.number().nullable(),
  digitsPerSecond: z.number(),
  outputPath: z.string().nullable(),
  error: z.string().nullable(),
});
export type PiSummary = z.infer<typeof PiSummary>;

export const PiStartReply = z.object({
  jobId: z.string(),
  coordinatorId: z.string(),
  postProcessorId: z.string(),
  hostUrl: z.string(),
  summary: PiSummary,
});
export type PiStartReply = z.infer<typeof PiStartReply>;

export const PiDrainRequest = z.object({
  /** Wait up to this long for new digits or a change of the counters. */
  waitMs: z.number().int().min(0).max(60_000).default(1000),
  /**
   * How the new digits come: "text" in `text`; "bytes" as ASCII bytes in `bytes` (with `text` empty),
   * for a client that takes the answer as CBOR and writes them as they are (the CLI).
   */
  as: z.enum(["text", "bytes"]).default("text"),
});

export const PiDrainReply = z.object({
  /** New digits since the last drain ("3." first when the window starts at 0); empty with `as: "bytes"`. */
  text: z.string(),
  /** The new digits as ASCII bytes, with `as: "bytes"`. */
  bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, "Expected bytes").optional(),
  progress: PiProgress,
  error: z.string().nullable(),
});
export type PiDrainReply = z.infer<typeof PiDrainReply>;

export const PiSummaryRequest = z.object({
  /** Wait up to this long for the job to end (0 = answer at once). */
  waitMs: z.number().int().min(0).max(24 * 3600_000).default(0),
});

/** Starts a job and returns at once; the batches run in the background. */
export const PI_START_ASYNC = operation("pi.start_async", PiJobRequest, PiStartReply);
/** Refills free slots, then returns the new digits and the counters (waiting up to waitMs for news). */
export const PI_DRAIN_STREAM = operation("pi.drain_stream", PiDrainRequest, PiDrainReply);
/** The job's summary, optionally waiting for its end. */
export const PI_SUMMARY = operation("pi.summary", PiSummaryRequest, PiSummary);
/** Stops the job; digits written so far stay. */
export const PI_CANCEL = operation("pi.cancel", z.object({}), PiSummary);

// --- coordinator → batch worker -----------------------------------------------------------------

export const TermSumsSchema = z.object({ P: z.bigint(), Q: z.bigint(), T: z.bigint() });

/** A range [0, m) prepared as the left part of the end (halves.ts LeftPart). */
export const LeftPartSchema = z.object({
  m: z.number().int().min(1),
  bits: z.number().int().min(1),
  v: z.bigint(),
  correction: z.object({
    w: z.bigint(),
    epsShift: z.number().int(),
    z: z.bigint(),
    firstShift: z.number().int(),
    bits: z.number().int().min(1),
  }),
});

export const PiBatchRequest = z.object({
  jobId: z.string(),
  index: z.number().int().min(0),
  a: z.number().int().min(0),
  b: z.number().int().min(1),
  /** The batch that ends the series never needs P. */
  withP: z.boolean(),
  attempt: z.number().int().min(1),
  /** Compute even on a busy host (the fallback worker). */
  force: z.boolean().default(false),
  maxLoadPerCpu: z.number().positive(),
  minMemoryBytes: z.number().min(0).default(0),
  /** The last batch also reduces its range to the ratio T/Q for a result of this many bits. */
  ratioBits: z.number().int().min(1).optional(),
  /**
   * The batch [0, m) right before the last one also prepares itself as the left part of the end for a
   * result of this many bits (halves.ts), on the thread that summed it.
   */
  leftBits: z.number().int().min(1).optional(),
  /** Other batches of this job running on the same host (their load is ours, not a stranger's). */
  ownWorkersOnHost: z.number().int().min(0).default(0),
  /**
   * On the post-processor's host: leave the sums with the host's pi-math service for the assembly
   * with this key, and answer with their handle (`parked`) instead of the sums.
   */
  parkFor: z.string().min(1).max(200).optional(),
  /** With `parkFor`: the first term of the job's last batch (the assembly prepares its end from it). */
  splitAt: z.number().int().min(0).optional(),
  fault: z.enum(["skip", "fail"]).optional(),
});
export type PiBatchRequest = z.infer<typeof PiBatchRequest>;

/** The answers of a batch worker: the sums (binary bigints; CBOR between hosts), skipped, or failed. */
export const PiBatchOutcome = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("pi.batch_result"),
    /** The sums, or (with `parkFor`) the handle under which this host's pi-math service keeps them. */
    sums: TermSumsSchema.optional(),
    parked: z.string().optional(),
    /** With `ratioBits`: u·2^k of halves.ts for this range. */
    ratio: z.bigint().optional(),
    /** With `leftBits` (and not parked): the range as the left part of the end. */
    left: LeftPartSchema.optional(),
    computeMs: z.number(),
    hostName: z.string(),
    /** The CPU ids of the compute-slots lease the batch ran under (none on a host without compute-slots). */
    cpuIds: z.array(z.number()).optional(),
    /** The CPUs the kernel allowed the batch's thread while it computed. */
    observedCpus: z.array(z.number()).optional(),
    /** What the batch computed on: GMP (examples/pi/gmp_engine.ts) or BigInt alone. */
    arithmetic: z.enum(["gmp", "bigint"]).optional(),
  }),
  z.object({ kind: z.literal("pi.batch_skipped"), reason: z.string(), hostName: z.string() }),
  z.object({ kind: z.literal("pi.batch_failed"), error: z.string(), hostName: z.string() }),
]);
export type PiBatchOutcome = z.infer<typeof PiBatchOutcome>;

/** Computes one batch of terms (on the worker's host, in a compute thread). */
export const PI_COMPUTE_BATCH = operation("pi.compute_batch", PiBatchRequest, PiBatchOutcome);

// --- batch worker → coordinator -----------------------------------------------------------------

/**
 * Whether the coordinator still wants batch worker `id`: asked by a batch whose request does not
 * come. Only the coordinator's instance that is creating it, or waiting for its answer, wants it.
 */
export const PI_BATCH_WANTED = operation(
  "pi.batch_wanted",
  z.object({ id: z.string() }),
  z.object({ wanted: z.boolean() }),
);

// --- coordinator → post-processor ---------------------------------------------------------------

export const PiFragment = z.object({
  index: z.number().int().min(0),
  a: z.number().int().min(0),
  b: z.number().int().min(1),
  /** The sums, or the handle of sums parked on this host (one of the two). */
  sums: TermSumsSchema.optional(),
  parked: z.string().optional(),
  /** The range's ratio T/Q at `bits` (the last batch), when it came with one. */
  ratio: z.object({ bits: z.number().int(), value: z.bigint() }).optional(),
  /** The range [0, b) as the left part of the end, when it came with one (and not parked). */
  left: LeftPartSchema.optional(),
  /** First term of the last batch: the post-processor prepares the end once every term before it is in. */
  splitAt: z.number().int().min(0).optional(),
});
export type PiFragment = z.infer<typeof PiFragment>;

export const PiAssemblyReply = z.object({
  /**
   * New digits as ASCII bytes ("3." first at position 0), in shared memory when a pi thread made
   * them: they cross threads without a copy (digit_bytes.ts).
   */
  digits: z.custom<Uint8Array>((v) => v instanceof Uint8Array, "Expected bytes"),
  emitted: z.number().int(),
  prefixTerms: z.number().int(),
  done: z.boolean(),
  needTerms: z.number().int().optional(),
});
export type PiAssemblyReply = z.infer<typeof PiAssemblyReply>;

/** Adds finished sums; answers with the digits they made certain. */
export const PI_FRAGMENT = operation("pi.fragment", PiFragment, PiAssemblyReply);
/**
 * The window's first digits, computed by the post-processor from a short series of its own when the
 * job started (empty when the window is too short or starts too far in for that; asked once).
 */
export const PI_HEAD = operation("pi.head", z.object({}), PiAssemblyReply);
/** Emits every digit the contiguous prefix makes certain (a failed job keeps them). */
export const PI_FLUSH = operation("pi.flush", z.object({}), PiAssemblyReply);

/**
 * The units of work the Pi engine hands to other threads, and how to run one. Kept apart from the worker
 * script so that the main thread can share the types (and run a task in-thread) without loading worker globals.
 * Every argument and result is a number, string or bigint, so it crosses postMessage by structured clone.
 */
import { splitTerms, type TermSums } from "./chudnovsky.ts";
import { fractionDigits, warmPowers } from "./decimal.ts";
import { defaultSqrtCache } from "./digits.ts";
import {
  correction,
  type CorrectionInput,
  type LeftPart,
  leftPart,
  rightRatio,
  splitRightRatio,
} from "./halves.ts";
import { gmpEngine, gmpEngineFor } from "./gmp_engine.ts";

/** A unit of work for a pi worker. */
export type Task =
  /** Binary splitting of terms [a, b). */
  | { op: "split"; a: number; b: number; withP: boolean }
  /**
   * Binary splitting of the right half [m, n), reduced to its ratio T/Q, which the worker keeps for a
   * correction task that names it (halves.ts, parallel.ts).
   */
  | { op: "splitRatio"; m: number; n: number; bits: number }
  /**
   * Binary splitting of [a, b) that also returns the range's ratio T/Q as u·2^ratioScale(bits, a): the
   * last batch of a job does its share of the end this way (halves.ts, assembly.ts). The worker keeps
   * the ratio too, for a correction task that names it (end_corrections.ts).
   */
  | { op: "splitWithRatio"; a: number; b: number; withP: boolean; bits: number }
  /**
   * Binary splitting of [0, m) that also prepares the range as the left part of the end (halves.ts) for a
   * result of `bits` bits: the batch before the last one does it where its sums already are.
   */
  | { op: "splitWithLeft"; m: number; bits: number }
  /**
   * The correction δ of halves.ts for the right part's ratio u·2^ratioScale(bits, m): given as `u`, else
   * the ratio this thread kept from the splitRatio or splitWithRatio task of `ratioOf` (consumed; a task
   * posted right behind that one finds it without the ratio crossing threads).
   */
  | { op: "correction"; input: CorrectionInput; u?: bigint; ratioOf?: RatioKey }
  /** Decimal conversion of one part of the fraction. */
  | { op: "digits"; frac: bigint; bits: number; digits: number }
  /** Precompute the powers a later `digits` task of this size needs. */
  | { op: "warm"; digits: number };

/** The result type of each task. */
export type TaskResult<T extends Task> = T extends { op: "split" } ? TermSums
  : T extends { op: "splitRatio" } ? null
  : T extends { op: "splitWithRatio" } ? { sums: TermSums; ratio: bigint }
  : T extends { op: "splitWithLeft" } ? { sums: TermSums; left: LeftPart }
  : T extends { op: "correction" } ? bigint
  : T extends { op: "digits" } ? string
  : T extends { op: "warm" } ? null
  : never;

/** Run a task on the current thread. */
export function runTask<T extends Task>(task: T): TaskResult<T> {
  return runAny(task) as TaskResult<T>;
}

/** Which ratio: of the terms [a, b) at `bits` bits. */
export interface RatioKey {
  a: number;
  b: number;
  bits: number;
}

/**
 * The ratio of the last splitRatio or splitWithRatio task on this thread, until a correction task
 * takes it or the next such task replaces it: at most one per thread (~0.4 MB at 1,000,000 digits).
 */
let kept: { key: RatioKey; u: bigint } | undefined;

function keep(key: RatioKey, u: bigint): void {
  kept = { key, u };
}

/** BigInt's sums with their ratio (halves.ts rightRatio). */
function withRatio(sums: TermSums, bits: number, a: number): { sums: TermSums; ratio: bigint } {
  return { sums, ratio: rightRatio(sums, bits, a) };
}

/** The kept ratio of `key` (taken), or an error: it was never kept here, or replaced. */
function takeRatio(key: RatioKey | undefined): bigint {
  const found = kept;
  if (!key || !found || found.key.a !== key.a || found.key.b !== key.b || found.key.bits !== key.bits) {
    throw new Error(
      key
        ? `no ratio of [${key.a}, ${key.b}) at ${key.bits} bits is kept on this thread`
        : "a correction task needs a ratio u or the key of a kept one",
    );
  }
  kept = undefined;
  return found.u;
}

function runAny(
  task: Task,
):
  | TermSums
  | { sums: TermSums; ratio: bigint }
  | { sums: TermSums; left: LeftPart }
  | bigint
  | string
  | null {
  switch (task.op) {
    case "splitWithLeft": {
      const gmp = gmpEngineFor(task.m);
      if (gmp) return gmp.splitWithLeft(task.m, task.bits);
      const sums = splitTerms(0, task.m, true);
      return { sums, left: leftPart(sums, task.m, task.bits, defaultSqrtCache.get(task.bits)) };
    }
    case "splitWithRatio": {
      const done = gmpEngineFor(task.b)?.splitWithRatio(task.a, task.b, task.withP, task.bits) ??
        withRatio(splitTerms(task.a, task.b, task.withP), task.bits, task.a);
      keep({ a: task.a, b: task.b, bits: task.bits }, done.ratio);
      return done;
    }
    case "split":
      return gmpEngineFor(task.b)?.split(task.a, task.b, task.withP) ??
        splitTerms(task.a, task.b, task.withP);
    case "splitRatio":
      keep(
        { a: task.m, b: task.n, bits: task.bits },
        gmpEngineFor(task.n)?.splitRatio(task.m, task.n, task.bits) ??
          splitRightRatio(task.m, task.n, task.bits),
      );
      return null;
    case "correction": {
      const u = task.u ?? takeRatio(task.ratioOf);
      return gmpEngine()?.correction(u, task.input) ?? correction(u, task.input);
    }
    case "digits":
      return fractionDigits(task.frac, task.bits, task.digits);
    case "warm":
      warmPowers(task.digits);
      return null;
  }
}

/** Message from the main thread to a worker. */
export interface TaskRequest {
  id: number;
  task: Task;
  /** Pin the worker's thread to these CPU ids (a compute-slots lease) before the task runs. */
  cpuIds?: number[];
}

/** A port handed to a pi worker: it runs tasks that come over it, or serves an assembly (assembly_server.ts). */
export interface PortGrant {
  port: MessagePort;
  serves?: "assembly";
}

/** What the batch tasks of a thread compute on: GMP (gmp_engine.ts) or BigInt alone. */
export type Arithmetic = "gmp" | "bigint";

/** Message back: the result, or the error text. */
export type TaskReply =
  | { id: number; ok: true; result: unknown; observedCpus?: number[]; arithmetic?: Arithmetic }
  | { id: number; ok: false; error: string };

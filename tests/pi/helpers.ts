/** Driving a Pi job through the host API, as the CLI does, for the Pi tests. */
import type { HostClient } from "../../host/client.ts";
import type { PiDrainReply, PiJobInput, PiStartReply, PiSummary } from "../../examples/pi/mod.ts";

export interface JobRun {
  /** Everything drained: "3." first when the window starts at 0. */
  text: string;
  summary: PiSummary;
  started: PiStartReply;
  /** How many drains brought digits. */
  pieces: number;
}

/**
 * Runs a job to its end (bounded by `deadlineMs`) and disposes its coordinator. `as: "bytes"` drains
 * as the CLI does: the digits as bytes, in CBOR answers.
 */
export async function runJob(
  client: HostClient,
  request: PiJobInput,
  deadlineMs = 60_000,
  as: "text" | "bytes" = "text",
): Promise<JobRun> {
  const { id } = await client.createAgent({ type: "examples.pi.coordinator" });
  try {
    const started = await client.send(id, { kind: "pi.start_async", args: { ...request } }) as PiStartReply;
    const deadline = Date.now() + deadlineMs;
    let text = "";
    let pieces = 0;
    while (true) {
      if (Date.now() > deadline) {
        throw new Error(`Pi job ${started.jobId} did not end within ${deadlineMs} ms`);
      }
      const reply = await client.send(id, { kind: "pi.drain_stream", args: { waitMs: 500, as } }, {
        binary: as === "bytes",
      }) as PiDrainReply;
      if (as === "bytes" && reply.text !== "") throw new Error("a drain as bytes answered text");
      const digits = as === "bytes" ? new TextDecoder().decode(reply.bytes) : reply.text;
      if (digits) pieces++;
      text += digits;
      if (reply.progress.status !== "running") break;
    }
    const summary = await client.send(id, { kind: "pi.summary", args: {} }) as PiSummary;
    return { text, summary, started, pieces };
  } finally {
    await client.dispose(id).catch(() => {});
  }
}

/** Reference digits in the CLI's format. */
export function formatted(digits: string, start: number): string {
  return start === 0 ? `${digits[0]}.${digits.slice(1)}` : digits;
}

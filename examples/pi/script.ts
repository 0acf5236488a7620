/**
 * Programmatic use of the Pi job from a script: create the coordinator, call its typed operations, read
 * the summary. Talks to the entry host ($PAGLETS_ENTRY, `--entry URL`, else http://127.0.0.1:8765) or,
 * when none answers, to an embedded host of its own.
 *
 *   deno run -A examples/pi/script.ts [DIGITS] [--entry URL]
 *
 * A paglet does the same with `this.context.create(...)` and `(m) => this.context.send(ref, m)`.
 *
 * @module
 */
import { callOperation } from "../../agents/operations.ts";
import type { MessageInput } from "../../agents/message.ts";
import { withEntryOrEmbedded } from "../../cli/entry.ts";
import { PI_START_ASYNC, PI_SUMMARY, PiJobRequest } from "./operations.ts";

if (import.meta.main) {
  const digits = Number(Deno.args.find((a) => /^\d+$/.test(a)) ?? 1000);
  const at = Deno.args.indexOf("--entry");
  const outputPath = await Deno.makeTempFile({ prefix: "pi-", suffix: ".txt" });
  await withEntryOrEmbedded(
    { entry: at >= 0 ? Deno.args[at + 1] : undefined, quiet: true },
    async (client) => {
      const { id } = await client.createAgent({ type: "examples.pi.coordinator" });
      try {
        const send = (m: MessageInput) => client.send(id, m, { timeoutMs: 600_000 });
        // Validation fills in the defaults: batch size from the free slots, no timeout, 3 attempts...
        const request = PiJobRequest.parse({ digits, outputPath });
        const started = await callOperation(send, PI_START_ASYNC, request);
        console.log(`job ${started.jobId} runs on ${started.hostUrl}`);
        const summary = await callOperation(send, PI_SUMMARY, { waitMs: 550_000 });
        const text = await Deno.readTextFile(outputPath);
        console.log(
          `${summary.status}: ${summary.digitsEmitted} digits in ${summary.wallTimeMs.toFixed(0)} ms,`,
        );
        console.log(
          `  ${summary.batches} batches on ${summary.hostsUsed.join(", ")}, ${summary.retries} retries`,
        );
        console.log(`  ${text.slice(0, 50)}…${text.trimEnd().slice(-10)}`);
      } finally {
        await client.dispose(id);
        await Deno.remove(outputPath).catch(() => {});
      }
    },
  );
}

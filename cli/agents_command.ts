/** `paglets agents ls|show|create|send|deactivate|activate|rm|dispatch|clone|retract`. */
import type { Command } from "./command.ts";
import { PagletError } from "../agents/errors.ts";
import { HostClient } from "../host/client.ts";
import { isValidAgentId } from "../host/kernel/ids.ts";
import { apiKeyFrom, entryClient, type EntryOptions } from "./entry.ts";
import { readJsonObject } from "./json_input.ts";
import { MAX_TIMEOUT_SECONDS, numberOption, timeoutMs, timeoutSeconds } from "./number_option.ts";
import { pc, printJson, printTable } from "./output.ts";
import { MAX_WAKE_SECONDS } from "../agents/policy.ts";
import { localTime } from "./times.ts";

/** Adds the options every network command shares. */
export function networkOptions(cmd: Command): Command {
  return cmd
    .option("-e, --entry <name|url>", "host to talk to (default: $PAGLETS_ENTRY or http://127.0.0.1:8765)")
    .option("--api-key-env <name>", "environment variable holding the API key")
    .option(
      "--timeout <seconds>",
      `request timeout in seconds (at most ${MAX_TIMEOUT_SECONDS})`,
      timeoutSeconds,
    )
    .option("--json", "print JSON for scripts");
}

/**
 * `id` if it can be an agent id (host/kernel/ids.ts), else the `bad_request` a host answers for a
 * malformed id: said here, before any request, also for ids that would not reach the agent's route
 * (an empty id, `.` or `..`).
 */
function agentId(id: string): string {
  if (!isValidAgentId(id) || id === "." || id === "..") {
    throw new PagletError("bad_request", `Malformed agent id '${id}'`);
  }
  return id;
}

/** Forwarding records followed at most (as hosts forward messages). */
const MAX_HOPS = 8;

/** One host's answer about agent `id`: what was asked for, or where the agent went from there. */
type Attempt<T> = { answer: T } | { movedTo: string };

/**
 * Where forwarding records led: the host the agent was found on (`foundAt`) and the hosts passed
 * on the way (`movedThrough`); empty when the entry host holds the agent. Merged into what a
 * command prints (as `show` does), so `--json` stays one object.
 */
type Followed = { foundAt?: string; movedThrough?: string[] };

/**
 * Asks the entry host with `attempt`, and while a host answers with where the agent moved, asks
 * that host (at most {@link MAX_HOPS} forwarding records). `answer` undefined: past the bound.
 */
async function follow<T>(
  o: EntryOptions,
  attempt: (client: HostClient) => Promise<Attempt<T>>,
): Promise<{ answer?: T; path: string[]; via: Followed }> {
  let client = entryClient(o);
  const path: string[] = [];
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const tried = await attempt(client);
    if ("answer" in tried) {
      return {
        answer: tried.answer,
        path,
        via: path.length ? { foundAt: client.baseUrl, movedThrough: path } : {},
      };
    }
    path.push(client.baseUrl);
    client = new HostClient(tried.movedTo, {
      apiKey: apiKeyFrom(o),
      timeoutMs: timeoutMs(o.timeout),
      oneShot: true,
    });
  }
  return { path, via: {} };
}

/** A forwarding record (`{id, movedTo}`, no status) read as where the agent went. */
function readRecord(record: Record<string, unknown>): Attempt<Record<string, unknown>> {
  return typeof record.movedTo === "string" && record.status === undefined
    ? { movedTo: record.movedTo }
    : { answer: record };
}

/**
 * An agent's record where it is now: a record that only says where the agent moved is followed to
 * that host (and on), and the answer says where it was found and through which hosts.
 */
async function locate(id: string, o: EntryOptions): Promise<Record<string, unknown>> {
  const { answer, path, via } = await follow(o, async (client) => readRecord(await client.getAgent(id)));
  if (!answer) return { id, movedThrough: path, error: `more than ${MAX_HOPS} forwarding records` };
  return { ...answer, ...via };
}

/**
 * `act` on agent `id` on the host it is on: asked first of the entry host; a host that answers
 * `agent_not_found` and holds a forwarding record for it hands the request on (nothing was done
 * there). Past {@link MAX_HOPS} forwarding records, `agent_not_found`.
 */
async function onAgentHost<T>(
  id: string,
  o: EntryOptions,
  act: (client: HostClient) => Promise<T>,
): Promise<{ answer: T; via: Followed }> {
  const { answer, via } = await follow(o, async (client): Promise<Attempt<T>> => {
    try {
      return { answer: await act(client) };
    } catch (err) {
      if (!(err instanceof PagletError && err.code === "agent_not_found")) throw err;
      const record = await client.getAgent(id).catch(() => null);
      const moved = record && readRecord(record);
      if (moved && "movedTo" in moved) return moved;
      throw err;
    }
  });
  if (answer === undefined) {
    throw new PagletError("agent_not_found", `Agent ${id}: more than ${MAX_HOPS} forwarding records`);
  }
  return { answer, via };
}

/**
 * Prints an acting command's answer: with `--json` the host's answer plus where the agent was
 * found when the command followed it, else `line` with that host noted.
 */
function report(o: { json?: boolean }, answer: unknown, via: Followed, line: string): void {
  if (o.json) return printJson({ ...answer as Record<string, unknown>, ...via });
  console.log(via.foundAt ? `${line} (found at ${via.foundAt})` : line);
}

export function registerAgentsCommand(program: Command): void {
  const agents = program.command("agents").description("Inspect and drive paglets on a host");

  networkOptions(agents.command("ls").description("List agents"))
    .option("--status <status>", "active | inactive | crashed", agentStatus)
    .option("--type <type>", "only this paglet type")
    .option(
      "--limit <n>",
      "at most this many, oldest first (default 10000)",
      numberOption("--limit", { min: 1, max: 100_000, integer: true }),
    )
    .action(async (o: EntryOptions & { json?: boolean; status?: string; type?: string; limit?: number }) => {
      const limit = o.limit ?? 10_000;
      // One more than shown says whether the list was cut (at the host's own limit it cannot tell).
      const asked = Math.min(limit + 1, 100_000);
      const listed =
        (await entryClient(o).listAgents({ status: o.status, type: o.type, limit: asked })).agents;
      const agents = listed.slice(0, limit);
      if (listed.length > limit || listed.length === asked && asked === limit) {
        console.error(pc.yellow(`showing the first ${limit} agents; --limit (up to 100000) for more`));
      }
      if (o.json) return printJson(agents);
      printTable(
        agents.map((a) => ({ ...a, status: statusShown(a), createdAt: localTime(Number(a.createdAt)) })),
        [
          "id",
          "type",
          "status",
          "queuedMessages",
          "createdAt",
        ],
      );
    });

  networkOptions(
    agents.command("show <id>").description(
      "Show an agent's record and state, following it to the host it moved to",
    ),
  )
    .action(async (id: string, o: EntryOptions) => printJson(await locate(agentId(id), o)));

  networkOptions(agents.command("create <type>").description("Create a paglet"))
    .option("--state <json>", "state merged over the initial state (@file or - for stdin)")
    .option("--args <json>", "arguments for onCreation (@file or - for stdin)")
    .option("--code <hash>", "a type from a script: the hash of its module (GET /v1/code lists them)")
    .action(async (
      type: string,
      o: EntryOptions & { json?: boolean; state?: string; args?: string; code?: string },
    ) => {
      const created = await entryClient(o).createAgent({
        type,
        state: await readJsonObject(o.state, "--state"),
        args: await readJsonObject(o.args, "--args"),
        ...(o.code === undefined ? {} : { code: o.code }),
      });
      if (o.json) return printJson(created);
      console.log(created.id);
    });

  networkOptions(agents.command("send <id> <kind>").description("Send a message and print the reply"))
    .option("--args <json>", "message arguments: JSON, @file, or - for stdin", "{}")
    .option("--priority <n>", "1..10 (0 = unqueued)", numberOption("--priority", { max: 10, integer: true }))
    .option("--oneway", "do not wait for the reply")
    .option("--no-delay", "fail instead of activating or queueing when the agent is inactive")
    .action(
      async (
        id: string,
        kind: string,
        o: EntryOptions & { args: string; priority?: number; oneway?: boolean; delay?: boolean },
      ) => {
        const reply = await entryClient(o).send(agentId(id), {
          kind,
          args: await readJsonObject(o.args, "--args"),
          priority: o.priority,
        }, {
          oneway: o.oneway,
          noDelay: o.delay === false,
          timeoutMs: timeoutMs(o.timeout),
        });
        printJson(reply);
      },
    );

  networkOptions(
    agents.command("deactivate <id>").description(
      "Deactivate an agent to disk, following it to the host it moved to",
    ),
  )
    .option(
      "--after <seconds>",
      "wake up again after this many seconds",
      numberOption("--after", { max: MAX_WAKE_SECONDS }),
    )
    .option("--no-activate-on-message", "messages do not wake it")
    .option("--no-queue", "do not keep messages while inactive")
    .option("--on-startup", "activate when the host starts")
    .action(
      async (
        id: string,
        o: EntryOptions & {
          json?: boolean;
          after?: number;
          activateOnMessage: boolean;
          queue: boolean;
          onStartup?: boolean;
        },
      ) => {
        const policy = {
          afterSeconds: o.after,
          activateOnMessage: o.activateOnMessage,
          queueMessagesWhenInactive: o.queue,
          activateOnStartup: o.onStartup ?? false,
        };
        const { answer, via } = await onAgentHost(agentId(id), o, (client) => client.deactivate(id, policy));
        report(o, answer, via, `${id} inactive`);
      },
    );

  networkOptions(
    agents.command("activate <id>").description(
      "Activate an inactive agent, following it to the host it moved to",
    ),
  )
    .action(async (id: string, o: EntryOptions & { json?: boolean }) => {
      const { answer, via } = await onAgentHost(agentId(id), o, (client) => client.activate(id));
      report(o, answer, via, `${id} active`);
    });

  networkOptions(
    agents.command("rm <id>").description("Dispose an agent, following it to the host it moved to"),
  )
    .action(async (id: string, o: EntryOptions & { json?: boolean }) => {
      const { answer, via } = await onAgentHost(agentId(id), o, (client) => client.dispose(id));
      report(o, answer, via, `${id} disposed`);
    });

  networkOptions(
    agents.command("dispatch <id> <target>").description(
      "Move an agent to another host (name or URL), following it to the host it moved to",
    ),
  )
    .action(async (id: string, target: string, o: EntryOptions & { json?: boolean }) => {
      const { answer: ref, via } = await onAgentHost(agentId(id), o, (client) => client.dispatch(id, target));
      report(o, ref, via, `${ref.id} now on ${ref.host}`);
    });

  networkOptions(
    agents.command("clone <id> [target]").description(
      "Copy an agent to a host (default: its own), following it to the host it moved to",
    ),
  )
    .action(async (id: string, target: string | undefined, o: EntryOptions & { json?: boolean }) => {
      // The host that copies an agent must hold it: a host it left only knows where it went.
      const { answer: ref, via } = await onAgentHost(agentId(id), o, (client) => client.clone(id, target));
      report(o, ref, via, `${ref.id} on ${ref.host}`);
    });

  networkOptions(
    agents.command("retract <id> <from>").description("Pull an agent from another host to the entry host"),
  )
    .action(async (id: string, from: string, o: EntryOptions & { json?: boolean }) => {
      const ref = await entryClient(o).retract(agentId(id), from);
      if (o.json) return printJson(ref);
      console.log(`${ref.id} now on ${ref.host}`);
    });
}

const AGENT_STATUSES = ["active", "inactive", "crashed"];

/**
 * An agent's status in `agents ls`: a `moving` one whose target no longer knows its move says so
 * (an operator settles it: docs/mobility.md, "A move its target forgot").
 */
function statusShown(agent: Record<string, unknown>): unknown {
  const departure = agent.departure as { status?: unknown } | undefined;
  return departure?.status === "expired" ? "moving (expired: settle by hand)" : agent.status;
}

/** `agents ls --status`: a status a listed agent can have. */
function agentStatus(value: string): string {
  const status = value.trim().toLowerCase();
  if (!AGENT_STATUSES.includes(status)) {
    throw new PagletError(
      "invalid_request",
      `--status must be one of ${AGENT_STATUSES.join(", ")}: got '${value}'`,
    );
  }
  return status;
}

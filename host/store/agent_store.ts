/** Durable agent records and queued messages. Every write completes before the caller acknowledges. */
import type { Kysely } from "kysely";
import type { Message } from "../../agents/message.ts";
import { DEFAULT_POLICY, type DeactivationPolicy } from "../../agents/policy.ts";
import { decodeCbor, encodeCbor } from "../../agents/wire.ts";
import type { AgentsTable, Schema } from "./schema.ts";

export type AgentStatus = "active" | "inactive" | "crashed";

/** An agent record as the host keeps it. */
export interface AgentRecord {
  id: string;
  type: string;
  status: AgentStatus;
  state: Uint8Array;
  policy: DeactivationPolicy | null;
  createdAt: number;
  updatedAt: number;
  meta: Record<string, unknown>;
}

/** A message stored for an inactive agent. */
export interface QueuedMessage {
  seq: number;
  message: Message;
  oneway: boolean;
  queuedAt: number;
}

function toRecord(row: AgentsTable): AgentRecord {
  return {
    id: row.id,
    type: row.type,
    status: row.status as AgentStatus,
    state: row.state,
    policy: row.policy ? { ...DEFAULT_POLICY, ...JSON.parse(row.policy) } : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    meta: JSON.parse(row.meta),
  };
}

export class AgentStore {
  readonly #db: Kysely<Schema>;
  constructor(db: Kysely<Schema>) {
    this.#db = db;
  }

  async get(id: string): Promise<AgentRecord | null> {
    const row = await this.#db.selectFrom("agents").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /** Inserts or replaces a whole record. */
  async put(record: Omit<AgentRecord, "updatedAt">): Promise<void> {
    const policy = record.policy;
    const row: AgentsTable = {
      id: record.id,
      type: record.type,
      status: record.status,
      state: record.state,
      policy: policy ? JSON.stringify(policy) : null,
      wake_at: record.status === "inactive" ? policy?.activateAt ?? null : null,
      activate_on_startup: record.status === "inactive" && policy?.activateOnStartup ? 1 : 0,
      created_at: record.createdAt,
      updated_at: Date.now(),
      meta: JSON.stringify(record.meta),
    };
    await this.#db.insertInto("agents").values(row).onConflict((oc) =>
      oc.column("id").doUpdateSet({
        type: row.type,
        status: row.status,
        state: row.state,
        policy: row.policy,
        wake_at: row.wake_at,
        activate_on_startup: row.activate_on_startup,
        updated_at: row.updated_at,
        meta: row.meta,
      })
    ).execute();
  }

  /** Checkpoints the state of active agents in one transaction. */
  async saveStates(states: { id: string; state: Uint8Array }[]): Promise<void> {
    if (states.length === 0) return;
    const now = Date.now();
    await this.#db.transaction().execute(async (tx) => {
      for (const { id, state } of states) {
        await tx.updateTable("agents").set({ state, updated_at: now }).where("id", "=", id).execute();
      }
    });
  }

  async setStatus(id: string, status: AgentStatus, meta?: Record<string, unknown>): Promise<void> {
    const patch: Partial<AgentsTable> = { status, updated_at: Date.now() };
    if (status !== "inactive") {
      patch.wake_at = null;
      patch.activate_on_startup = 0;
    }
    if (meta) patch.meta = JSON.stringify(meta);
    await this.#db.updateTable("agents").set(patch).where("id", "=", id).execute();
  }

  /** Deletes the record and its queued messages. */
  async delete(id: string): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      await tx.deleteFrom("queued_messages").where("agent_id", "=", id).execute();
      await tx.deleteFrom("agents").where("id", "=", id).execute();
    });
  }

  async list(filter: { status?: AgentStatus; type?: string; limit?: number } = {}): Promise<AgentRecord[]> {
    let q = this.#db.selectFrom("agents").selectAll();
    if (filter.status) q = q.where("status", "=", filter.status);
    if (filter.type) q = q.where("type", "=", filter.type);
    q = q.orderBy("created_at").limit(filter.limit ?? 10_000);
    return (await q.execute()).map(toRecord);
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.#db.selectFrom("agents").select(["status"]).select((eb) => eb.fn.countAll<number>().as("n"))
      .groupBy("status").execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Ids of inactive agents whose wake-up time has come. */
  async dueWakeups(now: number, limit = 100): Promise<string[]> {
    const rows = await this.#db.selectFrom("agents").select("id").where("status", "=", "inactive")
      .where("wake_at", "<=", now).orderBy("wake_at").limit(limit).execute();
    return rows.map((r) => r.id);
  }

  /** The earliest pending wake-up time, or null. */
  async nextWakeup(): Promise<number | null> {
    const row = await this.#db.selectFrom("agents").select((eb) => eb.fn.min<number>("wake_at").as("next"))
      .where("status", "=", "inactive").where("wake_at", "is not", null).executeTakeFirst();
    return row?.next ?? null;
  }

  async startupAgents(): Promise<string[]> {
    const rows = await this.#db.selectFrom("agents").select("id")
      .where((eb) => eb.or([eb("status", "=", "active"), eb.and([eb("status", "=", "inactive"), eb("activate_on_startup", "=", 1)])]))
      .orderBy("created_at").execute();
    return rows.map((r) => r.id);
  }

  async enqueue(agentId: string, message: Message, oneway: boolean): Promise<number> {
    const result = await this.#db.insertInto("queued_messages").values({
      seq: null,
      agent_id: agentId,
      body: encodeCbor({ message, oneway }),
      queued_at: Date.now(),
    }).executeTakeFirst();
    return Number(result.insertId);
  }

  async queued(agentId: string): Promise<QueuedMessage[]> {
    const rows = await this.#db.selectFrom("queued_messages").selectAll().where("agent_id", "=", agentId)
      .orderBy("seq").execute();
    return rows.map((row) => {
      const body = decodeCbor<{ message: Message; oneway: boolean }>(row.body);
      return { seq: Number(row.seq), message: body.message, oneway: body.oneway, queuedAt: row.queued_at };
    });
  }

  async queuedCount(agentId: string): Promise<number> {
    const row = await this.#db.selectFrom("queued_messages").select((eb) => eb.fn.countAll<number>().as("n"))
      .where("agent_id", "=", agentId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async dequeue(seq: number): Promise<void> {
    await this.#db.deleteFrom("queued_messages").where("seq", "=", seq).execute();
  }

  async recordMove(id: string, movedTo: string): Promise<void> {
    await this.#db.insertInto("moved_agents").values({ id, moved_to: movedTo, moved_at: Date.now() })
      .onConflict((oc) => oc.column("id").doUpdateSet({ moved_to: movedTo, moved_at: Date.now() })).execute();
  }

  async movedTo(id: string): Promise<string | null> {
    const row = await this.#db.selectFrom("moved_agents").select("moved_to").where("id", "=", id).executeTakeFirst();
    return row?.moved_to ?? null;
  }

  async forgetMove(id: string): Promise<void> {
    await this.#db.deleteFrom("moved_agents").where("id", "=", id).execute();
  }
}

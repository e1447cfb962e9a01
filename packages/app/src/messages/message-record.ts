import type { Decision, MessageRequest } from '@signalbox/engine';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import type { MessagesTable } from '../db/schema.js';
import type { MessageStatus } from './status.js';

/** A message as stored: its row, and how it is read from and written to the table. */
export interface MessageRow {
  id: string;
  contactId: string;
  idempotencyKey: string | null;
  journeyInstanceId: string | null;
  journeyId: string | null;
  type: string;
  purpose: string;
  team: string | null;
  workflow: string | null;
  template: string | null;
  status: MessageStatus;
  outcome: Decision['outcome'];
  channel: string | null;
  cost: number;
  request: MessageRequest;
  decision: Decision;
  createdAt: number;
  updatedAt: number;
}

export type NewMessage = Omit<MessageRow, 'createdAt' | 'updatedAt'>;

export function toMessage(r: MessagesTable): MessageRow {
  return {
    id: r.id,
    contactId: r.contact_id,
    idempotencyKey: r.idempotency_key,
    journeyInstanceId: r.journey_instance_id,
    journeyId: r.journey_id,
    type: r.type,
    purpose: r.purpose,
    team: r.team,
    workflow: r.workflow,
    template: r.template,
    status: r.status as MessageStatus,
    outcome: r.outcome as Decision['outcome'],
    channel: r.channel,
    cost: Number(r.cost),
    request: parseJson(r.request),
    decision: parseJson(r.decision),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/**
 * The row `create` inserts, as its columns and their values in order (the attempts' statement that
 * records a message and claims its first step together inserts the same row).
 */
export function messageRow(m: NewMessage, now: number): { columns: Array<keyof MessagesTable>; args: unknown[] } {
  const values: MessagesTable = {
    id: m.id,
    contact_id: m.contactId,
    idempotency_key: m.idempotencyKey,
    journey_instance_id: m.journeyInstanceId,
    journey_id: m.journeyId,
    type: m.type,
    purpose: m.purpose,
    team: m.team,
    workflow: m.workflow,
    template: m.template,
    status: m.status,
    outcome: m.outcome,
    channel: m.channel,
    cost: m.cost,
    request: json(m.request),
    decision: json(m.decision),
    created_at: now,
    updated_at: now,
  };
  const columns = Object.keys(values) as Array<keyof MessagesTable>;
  return { columns, args: columns.map((c) => values[c]) };
}

/**
 * Inserts a message unless its idempotency key is recorded already (no error: inside a PostgreSQL
 * transaction one would abort it); whether it was recorded now.
 */
export async function insertMessage(c: Conn, m: NewMessage, now: number): Promise<boolean> {
  const { columns, args } = messageRow(m, now);
  const inserted = await prepared(
    c,
    'create message',
    (d) =>
      d
        .insertInto('messages')
        .values(Object.fromEntries(columns.map((col, i) => [col, arg(i)])) as unknown as MessagesTable)
        .onConflict((oc) => oc.column('idempotency_key').doNothing()),
    args,
  );
  return Number(inserted.numAffectedRows ?? 0n) > 0 || m.idempotencyKey === null;
}

import { sql } from 'kysely';
import type { Conn } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import { uuidv7 } from '../ids.js';
import { insertMessage, messageRow, type NewMessage } from '../messages/message-record.js';
import { claimKey } from './claim-key.js';

/** A plan step to claim: its message, its index, and the channel and provider it goes through. */
export interface AttemptClaim {
  messageId: string;
  step: number;
  channel: string;
  provider: string;
}

/** The row a claim inserts, its values given as arguments from `at` on (`claimArgs` lists them). */
function claimValues(at: number) {
  return {
    id: arg(at),
    message_id: arg(at + 1),
    step: arg(at + 2),
    channel: arg(at + 3),
    provider: arg(at + 4),
    claim: arg(at + 5),
    provider_message_id: null,
    status: 'claimed',
    cost: 0,
    error: null,
    created_at: arg(at + 6),
    updated_at: arg(at + 6),
    lease_expires_at: arg(at + 7),
    lease_owner: arg(at + 8),
  } as const;
}

/** The arguments of a claim, in the order `claimValues` and `claimWithMessage` take them. */
function claimArgs(a: AttemptClaim, now: number, lease: { until: number; owner: string } | null): unknown[] {
  return [
    uuidv7(now),
    a.messageId,
    a.step,
    a.channel,
    a.provider,
    claimKey(a.messageId, a.step),
    now,
    lease?.until ?? null,
    lease?.owner ?? null,
  ];
}

/** `AttemptRepository.claim`: (message, step) claimed once; null when it is claimed already. */
export async function claimAttempt(
  c: Conn,
  a: AttemptClaim,
  now: number,
  lease: { until: number; owner: string } | null,
): Promise<string | null> {
  const [r] = (
    await prepared(
      c,
      'claim attempt',
      (d) =>
        d
          .insertInto('attempts')
          .values(claimValues(0))
          .onConflict((oc) => oc.doNothing())
          .returning('id'),
      claimArgs(a, now, lease),
    )
  ).rows;
  return r ? claimKey(a.messageId, a.step) : null;
}

/** `AttemptRepository.claimWithMessage`: one statement on PostgreSQL (a data-modifying CTE), two on SQLite. */
export async function claimWithMessage(
  c: Conn,
  m: NewMessage,
  now: number,
  a: AttemptClaim,
  lease: { until: number; owner: string } | null,
): Promise<{ created: boolean; claim: string | null }> {
  if (c.dialect !== 'postgres') {
    if (!(await insertMessage(c, m, now))) return { created: false, claim: null };
    return { created: true, claim: await claimAttempt(c, a, now, lease) };
  }
  const { columns, args } = messageRow(m, now);
  const n = columns.length;
  const { rows } = await prepared<{ claim: string; message_id: string }>(
    c,
    'create message, claim its first step',
    (d) => ({
      // the attempt row comes from m: no message recorded now, no claim
      compile: () =>
        sql<{ claim: string; message_id: string }>`with m as (
            insert into messages (${sql.join(columns.map((col) => sql.ref(col)))}) values (${sql.join(columns.map((_, i) => arg(i)))})
            on conflict (idempotency_key) do nothing returning id
          )
          insert into attempts (id, message_id, step, channel, provider, claim, provider_message_id, status, cost, error, created_at,
            updated_at, lease_expires_at, lease_owner)
          select ${arg(n)}::text, m.id, ${arg(n + 2)}::int, ${arg(n + 3)}::text, ${arg(n + 4)}::text, ${arg(n + 5)}::text, null::text,
            'claimed'::text, 0::float8, null::text, ${arg(n + 6)}::bigint, ${arg(n + 6)}::bigint, ${arg(n + 7)}::bigint, ${arg(n + 8)}::text
          from m
          on conflict do nothing
          returning claim, message_id`.compile(d),
    }),
    [...args, ...claimArgs(a, now, lease)],
  );
  if (rows[0] !== undefined) return { created: true, claim: rows[0].claim };
  // without a key the message was recorded (its claim, on a new message id, cannot have been taken)
  return { created: m.idempotencyKey === null, claim: null };
}

/** A message to record with its first step claimed (`claimWithMessages`). */
export interface MessageClaim {
  m: NewMessage;
  a: AttemptClaim;
  lease: { until: number; owner: string } | null;
  /** When it is recorded. */
  now: number;
}

/** The PostgreSQL type of a messages column, for binding a column of many rows as one array. */
const messageColumnType = (column: string): string =>
  column === 'cost' ? 'float8' : column === 'created_at' || column === 'updated_at' ? 'int8' : 'text';

/**
 * `claimWithMessage` for several messages (of different idempotency keys: a unit of work's), in
 * one statement on PostgreSQL (one each on SQLite): what `claimWithMessage` answers, per message id.
 */
export async function claimWithMessages(
  c: Conn,
  list: readonly MessageClaim[],
): Promise<Map<string, { created: boolean; claim: string | null }>> {
  const out = new Map<string, { created: boolean; claim: string | null }>();
  if (c.dialect !== 'postgres' || list.length < 2) {
    for (const x of list) out.set(x.m.id, await claimWithMessage(c, x.m, x.now, x.a, x.lease));
    return out;
  }
  const rows = list.map((x) => messageRow(x.m, x.now));
  const columns = (rows[0] as (typeof rows)[number]).columns;
  const n = columns.length;
  const claims = list.map((x) => claimArgs(x.a, x.now, x.lease));
  // claimArgs: id, message id, step, channel, provider, claim, now, lease until, lease owner
  const claimColumns = [
    ['id', 'text', 0],
    ['message_id', 'text', 1],
    ['step', 'int4', 2],
    ['channel', 'text', 3],
    ['provider', 'text', 4],
    ['claim', 'text', 5],
    ['at', 'int8', 6],
    ['lease_until', 'int8', 7],
    ['lease_owner', 'text', 8],
  ] as const;
  const { rows: claimed } = await prepared<{ claim: string; message_id: string }>(
    c,
    'create messages, claim their first steps',
    (d) => ({
      // the attempt rows join the messages recorded now: no message recorded now, no claim
      compile: () =>
        sql<{ claim: string; message_id: string }>`with m as (
            insert into messages (${sql.join(columns.map((col) => sql.ref(col)))})
            select * from unnest(${sql.join(columns.map((col, i) => sql`${arg(i)}::${sql.raw(messageColumnType(col))}[]`))})
            on conflict (idempotency_key) do nothing returning id
          )
          insert into attempts (id, message_id, step, channel, provider, claim, provider_message_id, status, cost, error, created_at,
            updated_at, lease_expires_at, lease_owner)
          select a.id, m.id, a.step, a.channel, a.provider, a.claim, null::text, 'claimed'::text, 0::float8, null::text,
            a.at, a.at, a.lease_until, a.lease_owner
          from m join unnest(${sql.join(claimColumns.map(([, type], i) => sql`${arg(n + i)}::${sql.raw(type)}[]`))})
            as a(${sql.join(claimColumns.map(([name]) => sql.raw(name)))}) on a.message_id = m.id
          on conflict do nothing
          returning claim, message_id`.compile(d),
    }),
    [...columns.map((_, i) => rows.map((r) => r.args[i])), ...claimColumns.map(([, , at]) => claims.map((a) => a[at]))],
  );
  const byMessage = new Map(claimed.map((r) => [r.message_id, r.claim]));
  for (const x of list) {
    const claim = byMessage.get(x.m.id);
    // as claimWithMessage: without a key the message was recorded (its claim, on a new message id, cannot have been taken)
    out.set(x.m.id, claim !== undefined ? { created: true, claim } : { created: x.m.idempotencyKey === null, claim: null });
  }
  return out;
}

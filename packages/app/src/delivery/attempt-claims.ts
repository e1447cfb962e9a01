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

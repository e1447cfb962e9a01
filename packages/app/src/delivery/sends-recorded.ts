import { sql } from 'kysely';
import type { Conn } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import type { MessageRepository } from '../messages/message-repository.js';
import type { AttemptRepository, SentContent } from './attempt-repository.js';
import type { ReceiptRepository } from './receipt-repository.js';

/** A send a unit of work made, as its provider answered it: accepted under `providerMessageId`. */
export interface SentSend {
  claim: string;
  messageId: string;
  channel: string;
  /** The provider that served it (a router may have failed over to another than the plan named). */
  provider: string;
  providerMessageId: string;
  cost: number;
  route?: string;
  /** What was sent (absent: the template has none, and the attempt keeps what it had). */
  content?: SentContent;
}

/** A send recorded as sent (its attempt was still claimed), and whether receipts wait parked for it. */
export interface SendRecorded {
  claim: string;
  provider: string;
  providerMessageId: string;
  parked: boolean;
}

/**
 * `Store.sendsRecorded` on PostgreSQL, for sends of different claims and messages: one statement,
 * atomic without a transaction around it. Its data-modifying CTEs are what `attempts.sentMany` and
 * `messages.sentMany` run one after the other (the messages of the attempts that moved, as
 * `RETURNING` gives them), and it looks, without taking them, for receipts parked under the
 * recorded provider ids: taking and applying those is the caller's (see `Sender.recordAnswers`).
 * Attempts are locked before messages, as everywhere else: the select reads `a`, and the messages'
 * update, read by nobody, runs after it.
 */
export async function sendsRecordedAtOnce(c: Conn, list: readonly SentSend[], now: number): Promise<SendRecorded[]> {
  if (list.length === 0) return [];
  const segments = (s: SentSend) => (s.content?.rendered.kind === 'text' ? s.content.rendered.segments : null);
  const { rows } = await prepared<{ claim: string; provider: string; provider_message_id: string; parked: boolean }>(
    c,
    'sends recorded at once',
    (d) => ({
      // `= any(…)` says again what the joins say: the rows are found by their keys whatever the
      // planner guesses (see attempts.sentMany)
      compile: () =>
        sql<{ claim: string; provider: string; provider_message_id: string; parked: boolean }>`with v as (
              select * from unnest(${arg(1)}::text[], ${arg(2)}::text[], ${arg(3)}::text[], ${arg(4)}::text[], ${arg(5)}::text[],
                ${arg(6)}::float8[], ${arg(7)}::text[], ${arg(8)}::text[], ${arg(9)}::text[], ${arg(10)}::text[], ${arg(11)}::int[])
                as v(claim, message_id, channel, provider, provider_message_id, cost, route, content, language, encoding, segments)
            ),
            a as (
              update attempts a set status = 'sent', updated_at = ${arg(0)}, lease_expires_at = null, lease_owner = null,
                provider_message_id = v.provider_message_id, cost = v.cost, provider = v.provider,
                route = coalesce(v.route, a.route), content = coalesce(v.content, a.content), language = coalesce(v.language, a.language),
                encoding = case when v.content is null then a.encoding else v.encoding end,
                segments = case when v.content is null then a.segments else v.segments end
              from v
              where a.claim = v.claim and a.status = 'claimed' and a.claim = any(${arg(1)}::text[])
              returning a.claim, a.message_id, a.provider, a.provider_message_id, v.channel, v.cost
            ),
            m as (
              update messages m set
                status = case when m.status in ('queued', 'sent') then 'sent' else m.status end,
                updated_at = case when m.status in ('queued', 'sent') then ${arg(0)} else m.updated_at end,
                channel = case when m.status in ('queued', 'sent') then a.channel else m.channel end,
                cost = m.cost + a.cost
              from a
              where m.id = a.message_id and m.id = any(${arg(2)}::text[])
            )
            select a.claim, a.provider, a.provider_message_id,
              exists (select 1 from pending_receipts p where p.provider = a.provider and p.provider_message_id = a.provider_message_id) as parked
            from a`.compile(d),
    }),
    [
      now,
      list.map((s) => s.claim),
      list.map((s) => s.messageId),
      list.map((s) => s.channel),
      list.map((s) => s.provider),
      list.map((s) => s.providerMessageId),
      list.map((s) => s.cost),
      list.map((s) => s.route ?? null),
      list.map((s) => (s.content === undefined ? null : JSON.stringify(s.content.rendered))),
      list.map((s) => s.content?.language ?? null),
      list.map((s) => segments(s)?.encoding ?? null),
      list.map((s) => segments(s)?.segments ?? null),
    ],
  );
  return rows.map((r) => ({ claim: r.claim, provider: r.provider, providerMessageId: r.provider_message_id, parked: r.parked }));
}

/**
 * `Store.sendsRecorded` one statement per kind of record, inside the caller's transaction (SQLite,
 * and a claim or a message given twice): `attempts.sentMany`, `messages.sentMany` for the
 * attempts that moved, then which of those have receipts parked, per provider.
 */
export async function sendsRecordedOneByOne(
  tx: { attempts: AttemptRepository; messages: MessageRepository; receipts: ReceiptRepository },
  list: readonly SentSend[],
  now: number,
): Promise<SendRecorded[]> {
  const moved = await tx.attempts.sentMany(
    list.map(({ messageId: _, channel: __, ...sent }) => sent),
    now,
  );
  const recorded = list.filter((s) => moved.has(s.claim));
  await tx.messages.sentMany(
    recorded.map((s) => ({ id: s.messageId, channel: s.channel, cost: s.cost })),
    now,
  );
  const parked = new Set<string>();
  for (const provider of new Set(recorded.map((s) => s.provider))) {
    const ids = recorded.filter((s) => s.provider === provider).map((s) => s.providerMessageId);
    for (const id of await tx.receipts.parkedAmong(provider, ids)) parked.add(`${provider}\u0000${id}`);
  }
  return recorded.map((s) => ({
    claim: s.claim,
    provider: s.provider,
    providerMessageId: s.providerMessageId,
    parked: parked.has(`${s.provider}\u0000${s.providerMessageId}`),
  }));
}

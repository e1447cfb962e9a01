import type { Decision, MessageRequest, SentRecord } from '@signalbox/engine';
import { sql } from 'kysely';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, oneOf, prepared } from '../db/prepared.js';
import { COLUMNS, type MessagesTable } from '../db/schema.js';
import { uuidv7 } from '../ids.js';
import { insertMessage, type MessageRow, type NewMessage, toMessage } from './message-record.js';
import { FIRST_CLAIM_AT, pendingOf, RANK, requestPriority, sentRecordOf } from './pressure-record.js';
import { MESSAGE_PRESSURE, MESSAGE_WENT, type MessageStatus } from './status.js';

export interface MessageFilter {
  status?: readonly MessageStatus[] | undefined;
  channel?: string | undefined;
  team?: string | undefined;
  journeyId?: string | undefined;
  contactId?: string | undefined;
  type?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

/** Messages with the decision they were made with (a decision is data, stored with its message). */
export class MessageRepository {
  constructor(private readonly c: Conn) {}

  /** Creates a message, or returns the one already created with the same idempotency key. */
  async create(m: NewMessage, now: number): Promise<{ message: MessageRow; created: boolean }> {
    if (await insertMessage(this.c, m, now)) return { message: { ...m, createdAt: now, updatedAt: now }, created: true };
    // not recorded now: its key (never null then) names the one recorded before
    return { message: await this.byIdempotencyKey(m.idempotencyKey as string), created: false };
  }

  /** Whether a message was recorded under this idempotency key. */
  async hasIdempotencyKey(key: string): Promise<boolean> {
    return (await this.c.db.selectFrom('messages').select('id').where('idempotency_key', '=', key).executeTakeFirst()) !== undefined;
  }

  /** The message recorded under an idempotency key (there is one: a `create` found it). */
  async byIdempotencyKey(key: string): Promise<MessageRow> {
    return toMessage(await this.c.db.selectFrom('messages').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow());
  }

  async get(id: string): Promise<MessageRow | null> {
    const [r] = (await prepared(this.c, 'message', (d) => d.selectFrom('messages').select(COLUMNS.messages).where('id', '=', arg(0)), [id]))
      .rows;
    return r ? toMessage(r) : null;
  }

  /** A contact's latest messages, newest first. */
  async forContact(contactId: string, limit = 100): Promise<MessageRow[]> {
    const rows = await this.c.db
      .selectFrom('messages')
      .selectAll()
      .where('contact_id', '=', contactId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toMessage);
  }

  async forJourneyInstance(instanceId: string): Promise<MessageRow[]> {
    const rows = await this.c.db
      .selectFrom('messages')
      .selectAll()
      .where('journey_instance_id', '=', instanceId)
      .orderBy('created_at')
      .execute();
    return rows.map(toMessage);
  }

  /** Moves a message between statuses only from the given ones; false if it was elsewhere. */
  /**
   * A queued message that now needs a person (its fresh decision says review): held, with that
   * decision as its own (an approval then lets it go). False when it was no longer queued.
   */
  async holdForReview(id: string, decision: Decision, now: number): Promise<boolean> {
    const r = await this.c.db
      .updateTable('messages')
      .set({ status: 'review', outcome: decision.outcome, decision: json(decision), updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async transition(
    id: string,
    from: readonly MessageStatus[],
    to: MessageStatus,
    now: number,
    extra: { channel?: string; cost?: number } = {},
  ): Promise<boolean> {
    const withChannel = extra.channel !== undefined;
    const withCost = extra.cost !== undefined;
    const r = await prepared(
      this.c,
      `transition message ${from.length}${withChannel ? ' channel' : ''}${withCost ? ' cost' : ''}`,
      (d) => {
        const set: Partial<MessagesTable> = { status: arg(0), updated_at: arg(1) };
        if (withChannel) set.channel = arg(2);
        return d
          .updateTable('messages')
          .set(withCost ? { ...set, cost: sql<number>`cost + ${arg(3)}` as unknown as number } : set)
          .where('id', '=', arg(4))
          .where(
            'status',
            'in',
            from.map((_, i) => arg(5 + i)),
          );
      },
      [to, now, extra.channel, extra.cost, id, ...from],
    );
    return Number(r.numAffectedRows ?? 0) === 1;
  }

  /** `transition` for several messages to one status, in one statement (a batch of receipts); returns how many moved. */
  async transitionMany(ids: readonly string[], from: readonly MessageStatus[], to: MessageStatus, now: number): Promise<number> {
    if (ids.length === 0) return 0;
    const list = oneOf(this.c, ids, 2 + from.length);
    const r = await prepared(
      this.c,
      `transition messages ${from.length} ${list.key}`,
      (d) =>
        d
          .updateTable('messages')
          .set({ status: arg(0), updated_at: arg(1) })
          .where(
            'status',
            'in',
            from.map((_, i) => arg(2 + i)),
          )
          .where(list.on('id')),
      [to, now, ...from, ...list.args],
    );
    return Number(r.numAffectedRows ?? 0);
  }

  /** One message's step went: `sentMany` for one. */
  async sent(id: string, channel: string, cost: number, now: number): Promise<void> {
    if ((await this.transition(id, ['queued', 'sent'], 'sent', now, { channel, cost })) || cost === 0) return;
    await prepared(
      this.c,
      'message cost added',
      (d) =>
        d
          .updateTable('messages')
          .set({ cost: sql<number>`cost + ${arg(0)}` as unknown as number })
          .where('id', '=', arg(1)),
      [cost, id],
    );
  }

  /**
   * Messages whose step went: each moves to sent (from queued or sent) on its channel, and its cost
   * is added whatever its status (a follow-up after a delivered call was paid for too: it was left
   * out of the message's cost); the same as `transition(id, ['queued', 'sent'], 'sent', now,
   * {channel, cost})`, else the cost alone, for each, in one statement on PostgreSQL (one or two
   * each on SQLite, or when a message comes twice).
   */
  async sentMany(list: ReadonlyArray<{ id: string; channel: string; cost: number }>, now: number): Promise<void> {
    if (list.length === 0) return;
    if (this.c.dialect !== 'postgres' || new Set(list.map((m) => m.id)).size !== list.length) {
      for (const m of list) await this.sent(m.id, m.channel, m.cost, now);
      return;
    }
    await prepared(
      this.c,
      'messages sent, many',
      (d) => ({
        // `m.id = any(…)`: found by key whatever the plan (see attempts.sentMany)
        compile: () =>
          sql`update messages m set
              status = case when m.status in ('queued', 'sent') then 'sent' else m.status end,
              updated_at = case when m.status in ('queued', 'sent') then ${arg(0)} else m.updated_at end,
              channel = case when m.status in ('queued', 'sent') then v.channel else m.channel end,
              cost = m.cost + v.cost
            from unnest(${arg(1)}::text[], ${arg(2)}::text[], ${arg(3)}::float8[]) as v(id, channel, cost)
            where m.id = v.id and m.id = any(${arg(1)}::text[])`.compile(d),
      }),
      [now, list.map((m) => m.id), list.map((m) => m.channel), list.map((m) => m.cost)],
    );
  }

  /**
   * What counts against a contact's pressure budget since `since`: messages sent or tried, and
   * messages decided and waiting to go. `before` (a waiting message, at its send time) leaves out
   * itself and what was decided after it, so two waiting messages never hold each other back,
   * unless what was decided after it is of a higher priority: it gave way to that one.
   */
  async pressure(
    contactId: string,
    since: number,
    before?: { id: string; createdAt: number; priority?: string | undefined },
  ): Promise<SentRecord[]> {
    const { rows } = await prepared(
      this.c,
      before === undefined ? 'pressure history' : 'pressure history but one',
      (d) => {
        const q = d
          .selectFrom('messages')
          .select(['type', 'team', 'channel', 'created_at', 'status'])
          .select(requestPriority(this.c.dialect).as('priority'))
          .select(FIRST_CLAIM_AT.as('claimed_at'))
          .where('contact_id', '=', arg(0))
          .where(
            'status',
            'in',
            MESSAGE_PRESSURE.map((_, i) => arg(3 + i)),
          )
          .where('created_at', '>=', arg(1));
        return before === undefined ? q : q.where('id', '!=', arg(2));
      },
      [contactId, since, before?.id, ...MESSAGE_PRESSURE],
    );
    if (before === undefined) return rows.map(sentRecordOf);
    // what a waiting message's budget counts when its time comes: what went, what was decided
    // before it, and what was decided after it that is more important (it gave way to that)
    const rank = (p: string | null | undefined) => RANK[p ?? 'normal'] ?? 1;
    const own = rank(before.priority);
    return rows.filter((r) => !pendingOf(r) || Number(r.created_at) < before.createdAt || rank(r.priority) > own).map(sentRecordOf);
  }

  /**
   * Keeps a later decision about a message (the send gate deciding again on fresh state: held
   * back by a cap, deferred to quiet hours, a channel no longer allowed, suppressed), so every
   * held message says why. The message's own decision, and its plan, stay as they were.
   */
  async recordDecision(messageId: string, decision: Decision, now: number): Promise<void> {
    await prepared(
      this.c,
      'record decision',
      (d) => d.insertInto('message_decisions').values({ id: arg(0), message_id: arg(1), at: arg(2), outcome: arg(3), decision: arg(4) }),
      [uuidv7(now), messageId, now, decision.outcome, json(decision)],
    );
  }

  /** The later decisions about a message, oldest first. */
  async decisionsOf(messageId: string): Promise<Array<{ at: number; decision: Decision }>> {
    const rows = await this.c.db
      .selectFrom('message_decisions')
      .select(['at', 'decision'])
      .where('message_id', '=', messageId)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ at: Number(r.at), decision: parseJson<Decision>(r.decision) }));
  }

  /** Channel and cost of each message that went out to a contact since `since` (what the CRM fields summarise). */
  async wentSince(contactId: string, since: number): Promise<Array<{ channel: string | null; cost: number }>> {
    const rows = await this.c.db
      .selectFrom('messages')
      .select(['channel', 'cost'])
      .where('contact_id', '=', contactId)
      .where('created_at', '>=', since)
      .where('status', 'in', [...MESSAGE_WENT])
      .execute();
    return rows.map((r) => ({ channel: r.channel, cost: Number(r.cost) }));
  }

  /**
   * Messages newest first, filtered by status, channel, team, journey, contact, message type and
   * creation time window [from, to); `after` (the last row's creation time and id) pages on.
   */
  async list(f: MessageFilter, limit: number, after?: { createdAt: number; id: string }): Promise<MessageRow[]> {
    let q = this.c.db.selectFrom('messages').selectAll();
    if (f.status !== undefined) q = q.where('status', 'in', [...f.status]);
    if (f.channel !== undefined) q = q.where('channel', '=', f.channel);
    if (f.team !== undefined) q = q.where('team', '=', f.team);
    if (f.journeyId !== undefined) q = q.where('journey_id', '=', f.journeyId);
    if (f.contactId !== undefined) q = q.where('contact_id', '=', f.contactId);
    if (f.type !== undefined) q = q.where('type', '=', f.type);
    if (f.from !== undefined) q = q.where('created_at', '>=', f.from);
    if (f.to !== undefined) q = q.where('created_at', '<', f.to);
    if (after !== undefined)
      q = q.where((eb) =>
        eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]),
      );
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toMessage);
  }

  /** How many message requests were made in [from, to). */
  async countBetween(from: number, to: number): Promise<number> {
    const r = await this.c.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * The requests made in [from, to), oldest first, a page at a time (`after`: the last one's
   * creation time and id): what a dry run replays at their original times.
   */
  async requestsBetween(
    from: number,
    to: number,
    after: { createdAt: number; id: string } | null,
    limit: number,
  ): Promise<Array<{ id: string; contactId: string; createdAt: number; request: MessageRequest }>> {
    let q = this.c.db
      .selectFrom('messages')
      .select(['id', 'contact_id', 'created_at', 'request'])
      .where('created_at', '>=', from)
      .where('created_at', '<', to);
    if (after !== null)
      q = q.where((eb) =>
        eb.or([eb('created_at', '>', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)])]),
      );
    const rows = await q.orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      id: r.id,
      contactId: r.contact_id,
      createdAt: Number(r.created_at),
      request: parseJson<MessageRequest>(r.request),
    }));
  }

  /** The latest later decision of each message named that has one (what holds it back now). */
  async latestDecisions(messageIds: readonly string[]): Promise<Map<string, Decision>> {
    if (messageIds.length === 0) return new Map();
    const rows = await this.c.db
      .selectFrom('message_decisions')
      .select(['message_id', 'decision'])
      .where('message_id', 'in', [...messageIds])
      .orderBy('at')
      .orderBy('id')
      .execute();
    return new Map(rows.map((r) => [r.message_id, parseJson<Decision>(r.decision)]));
  }
}

import type { RenderedContent } from '@signalbox/engine';
import { sql } from 'kysely';
import type { Conn } from '../db/connection.js';
import { arg, oneOf, prepared } from '../db/prepared.js';
import { type AttemptsTable, COLUMNS } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import type { NewMessage } from '../messages/message-record.js';
import { type AttemptClaim, claimAttempt, claimWithMessage, claimWithMessages, type MessageClaim } from './attempt-claims.js';
import type { AttemptStatus } from './attempt-status.js';

export interface AttemptRow {
  id: string;
  messageId: string;
  step: number;
  channel: string;
  provider: string;
  claim: string;
  providerMessageId: string | null;
  status: AttemptStatus;
  cost: number;
  error: string | null;
  /** How a router reached the provider that served it (fail-overs and why), when it was not the first asked. */
  route: string | null;
  /** What was sent (null: no rendered content). */
  content: RenderedContent | null;
  language: string | null;
  encoding: string | null;
  segments: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What an attempt carried: the rendered content and its language. */
export interface SentContent {
  rendered: RenderedContent;
  language: string;
}

const toAttempt = (r: AttemptsTable): AttemptRow => ({
  id: r.id,
  messageId: r.message_id,
  step: r.step,
  channel: r.channel,
  provider: r.provider,
  claim: r.claim,
  providerMessageId: r.provider_message_id,
  status: r.status as AttemptStatus,
  cost: Number(r.cost),
  error: r.error,
  route: r.route ?? null,
  content: r.content === null || r.content === undefined ? null : (JSON.parse(r.content) as RenderedContent),
  language: r.language ?? null,
  encoding: r.encoding ?? null,
  segments: r.segments === null || r.segments === undefined ? null : Number(r.segments),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** Attempts: one per plan step tried, claimed once; the claim is the provider's idempotency key. */
export class AttemptRepository {
  constructor(private readonly c: Conn) {}

  /**
   * Claims (message, step) once. With `lease` the attempt carries its own lease (no timer row
   * stands behind it): if it is still only claimed when the lease ends, `takeStalled` hands it to
   * a worker to resume. Null when the step is claimed already.
   */
  claim(a: AttemptClaim, now: number, lease: { until: number; owner: string } | null = null): Promise<string | null> {
    return claimAttempt(this.c, a, now, lease);
  }

  /**
   * Records a message and claims its first step (`claim`) in one statement on PostgreSQL (two on
   * SQLite): the step is claimed only with a message recorded now, never for one its idempotency
   * key found recorded before (`created: false`; the caller reads that one).
   */
  claimWithMessage(
    m: NewMessage,
    now: number,
    a: AttemptClaim,
    lease: { until: number; owner: string } | null,
  ): Promise<{ created: boolean; claim: string | null }> {
    return claimWithMessage(this.c, m, now, a, lease);
  }

  /** `claimWithMessage` for several messages of different keys (one statement on PostgreSQL): its answer per message id. */
  claimWithMessages(list: readonly MessageClaim[]): Promise<Map<string, { created: boolean; claim: string | null }>> {
    return claimWithMessages(this.c, list);
  }

  /**
   * Leased attempts whose lease ran out while still claimed (the worker died between its commit
   * and the provider's answer, or the call failed), leased again to `owner` atomically (FOR
   * UPDATE SKIP LOCKED on PostgreSQL). Looked for without a write transaction first.
   */
  async takeStalled(
    now: number,
    lease: { ms: number; owner: string },
    limit: number,
    /** False when the caller has just seen one stalled: no look first. */
    look = true,
  ): Promise<Array<{ messageId: string; step: number; claim: string }>> {
    if (look) {
      const any = await prepared(
        this.c,
        'any stalled attempt',
        (d) =>
          // ordered by the index (`attempts_leased`): without statistics an unordered `limit 1` was
          // planned as a scan of the table
          d
            .selectFrom('attempts')
            .select('id')
            .where('lease_expires_at', 'is not', null)
            .where('lease_expires_at', '<', arg(0))
            .orderBy('lease_expires_at')
            .limit(1),
        [now],
      );
      if (any.rows.length === 0) return [];
    }
    const rows = await inTransaction(this.c, async (tx) => {
      let pick = tx.db
        .selectFrom('attempts')
        .select('id')
        .where('lease_expires_at', 'is not', null)
        .where('lease_expires_at', '<', now)
        .orderBy('lease_expires_at')
        .limit(limit);
      if (tx.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
      const ids = (await pick.execute()).map((r) => r.id);
      if (ids.length === 0) return [];
      return tx.db
        .updateTable('attempts')
        .set({ lease_expires_at: now + lease.ms, lease_owner: lease.owner })
        .where('id', 'in', ids)
        .where('lease_expires_at', '<', now)
        .returning(['message_id', 'step', 'claim'])
        .execute();
    });
    return rows.map((r) => ({ messageId: r.message_id, step: r.step, claim: r.claim }));
  }

  /** Moves a leased attempt's lease (`null`: the send is settled, nothing to resume). */
  async setLease(claim: string, until: number | null): Promise<void> {
    await this.c.db
      .updateTable('attempts')
      .set({ lease_expires_at: until, ...(until === null ? { lease_owner: null } : {}) })
      .where('claim', '=', claim)
      .where('lease_expires_at', 'is not', null)
      .execute();
  }

  /**
   * Ends at once the leases `owner` holds (`'*'`: everyone's), so their sends are resumed now
   * rather than when the leases run out: a restarted instance owns what it had claimed.
   */
  async expireLeasesOf(owner: string, now: number): Promise<number> {
    let q = this.c.db
      .updateTable('attempts')
      .set({ lease_expires_at: now - 1 })
      .where('lease_expires_at', 'is not', null)
      .where('lease_expires_at', '>=', now);
    if (owner !== '*') q = q.where('lease_owner', '=', owner);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async byClaim(claim: string): Promise<AttemptRow | null> {
    const r = await this.c.db.selectFrom('attempts').selectAll().where('claim', '=', claim).executeTakeFirst();
    return r ? toAttempt(r) : null;
  }

  async forMessage(messageId: string): Promise<AttemptRow[]> {
    const rows = await this.c.db.selectFrom('attempts').selectAll().where('message_id', '=', messageId).orderBy('step').execute();
    return rows.map(toAttempt);
  }

  /** A contact's latest attempts (every message), newest first: what was sent, through whom, at what cost. */
  async forContact(contactId: string, limit = 20): Promise<AttemptRow[]> {
    const rows = await this.c.db
      .selectFrom('attempts')
      .innerJoin('messages', 'messages.id', 'attempts.message_id')
      .selectAll('attempts')
      .where('messages.contact_id', '=', contactId)
      .orderBy('attempts.updated_at', 'desc')
      .orderBy('attempts.id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toAttempt);
  }

  /** The attempt a provider's id names, with its message's contact (a receipt updates its engagement too). */
  async byProviderId(provider: string, providerMessageId: string): Promise<(AttemptRow & { contactId: string | null }) | null> {
    return (await this.byProviderIds(provider, [providerMessageId])).get(providerMessageId) ?? null;
  }

  /**
   * `byProviderId` for several of one provider's ids in one statement (a batch of receipts): the
   * attempts found, by provider id, each with its message's contact.
   */
  async byProviderIds(
    provider: string,
    providerMessageIds: readonly string[],
  ): Promise<Map<string, AttemptRow & { contactId: string | null }>> {
    const out = new Map<string, AttemptRow & { contactId: string | null }>();
    if (providerMessageIds.length === 0) return out;
    const ids = oneOf(this.c, providerMessageIds, 1);
    const { rows } = await prepared(
      this.c,
      `attempts by provider ids, with their contacts ${ids.key}`,
      (d) =>
        d
          .selectFrom('attempts')
          .select(COLUMNS.attempts)
          .select((eb) =>
            eb.selectFrom('messages').select('messages.contact_id').whereRef('messages.id', '=', 'attempts.message_id').as('contact_id'),
          )
          .where('provider', '=', arg(0))
          .where(ids.on('provider_message_id')),
      [provider, ...ids.args],
    );
    for (const r of rows)
      if (r.provider_message_id !== null) out.set(r.provider_message_id, { ...toAttempt(r), contactId: r.contact_id ?? null });
    return out;
  }

  /**
   * Moves several attempts to one status, each only from `onlyFrom` (one statement; a batch of
   * receipts); any update ends their leases. Returns how many moved.
   */
  async moveMany(claims: readonly string[], status: AttemptStatus, now: number, onlyFrom: readonly AttemptStatus[]): Promise<number> {
    if (claims.length === 0) return 0;
    const list = oneOf(this.c, claims, 2 + onlyFrom.length);
    const r = await prepared(
      this.c,
      `move attempts ${onlyFrom.length} ${list.key}`,
      (d) =>
        d
          .updateTable('attempts')
          .set({ status: arg(0), updated_at: arg(1), lease_expires_at: null, lease_owner: null })
          .where(
            'status',
            'in',
            onlyFrom.map((_, i) => arg(2 + i)),
          )
          .where(list.on('claim')),
      [status, now, ...onlyFrom, ...list.args],
    );
    return Number(r.numAffectedRows ?? 0);
  }

  /**
   * Several claimed attempts recorded as sent, in one statement on PostgreSQL (the sends a unit of
   * work made together; one update each on SQLite): the same as `update(claim, {status: 'sent',
   * …}, now, ['claimed'])` for each. Returns the claims that moved.
   */
  async sentMany(
    list: ReadonlyArray<{
      claim: string;
      providerMessageId: string;
      cost: number;
      provider?: string;
      route?: string;
      content?: SentContent;
    }>,
    now: number,
  ): Promise<Set<string>> {
    const moved = new Set<string>();
    if (list.length === 0) return moved;
    if (this.c.dialect !== 'postgres' || new Set(list.map((a) => a.claim)).size !== list.length) {
      for (const { claim, ...set } of list) if (await this.update(claim, { status: 'sent', ...set }, now, ['claimed'])) moved.add(claim);
      return moved;
    }
    const segments = (a: (typeof list)[number]) => (a.content?.rendered.kind === 'text' ? a.content.rendered.segments : null);
    const { rows } = await prepared<{ claim: string }>(
      this.c,
      'attempts sent, many',
      (d) => ({
        // what a send did not say (no other provider, no route, no content) stays as it was.
        // `a.claim = any(…)` says again what the join says: the rows can then be found by their
        // key whatever the planner guesses (a plan cached while the table was small joined a scan
        // of every attempt: 15–27 ms a unit at 30k attempts)
        compile: () =>
          sql<{ claim: string }>`update attempts a set status = 'sent', updated_at = ${arg(0)}, lease_expires_at = null, lease_owner = null,
              provider_message_id = v.provider_message_id, cost = v.cost, provider = coalesce(v.provider, a.provider),
              route = coalesce(v.route, a.route), content = coalesce(v.content, a.content), language = coalesce(v.language, a.language),
              encoding = case when v.content is null then a.encoding else v.encoding end,
              segments = case when v.content is null then a.segments else v.segments end
            from unnest(${arg(1)}::text[], ${arg(2)}::text[], ${arg(3)}::float8[], ${arg(4)}::text[], ${arg(5)}::text[], ${arg(6)}::text[],
              ${arg(7)}::text[], ${arg(8)}::text[], ${arg(9)}::int[])
              as v(claim, provider_message_id, cost, provider, route, content, language, encoding, segments)
            where a.claim = v.claim and a.status = 'claimed' and a.claim = any(${arg(1)}::text[])
            returning a.claim`.compile(d),
      }),
      [
        now,
        list.map((a) => a.claim),
        list.map((a) => a.providerMessageId),
        list.map((a) => a.cost),
        list.map((a) => a.provider ?? null),
        list.map((a) => a.route ?? null),
        list.map((a) => (a.content === undefined ? null : JSON.stringify(a.content.rendered))),
        list.map((a) => a.content?.language ?? null),
        list.map((a) => segments(a)?.encoding ?? null),
        list.map((a) => segments(a)?.segments ?? null),
      ],
    );
    for (const r of rows) moved.add(r.claim);
    return moved;
  }

  /** Moves an attempt on (only from `onlyFrom`, when given); any update ends its lease. */
  async update(
    claim: string,
    set: {
      status: AttemptStatus;
      providerMessageId?: string | null;
      cost?: number;
      error?: string | null;
      /** The provider that actually served it, and how it was reached (a router's fail-over). */
      provider?: string;
      route?: string | null;
      /** What was sent (its rendered content, language and SMS segments). */
      content?: SentContent;
    },
    now: number,
    onlyFrom?: readonly AttemptStatus[],
  ): Promise<boolean> {
    const has = {
      id: set.providerMessageId !== undefined,
      cost: set.cost !== undefined,
      error: set.error !== undefined,
      provider: set.provider !== undefined,
      route: set.route !== undefined,
      content: set.content !== undefined,
    };
    const from = onlyFrom ?? [];
    const c = set.content;
    const sms = c?.rendered.kind === 'text' ? c.rendered.segments : null;
    const r = await prepared(
      this.c,
      `update attempt${has.id ? ' id' : ''}${has.cost ? ' cost' : ''}${has.error ? ' error' : ''}${has.provider ? ' provider' : ''}${has.route ? ' route' : ''}${has.content ? ' content' : ''} ${onlyFrom === undefined ? 'any' : from.length}`,
      (d) => {
        const q = d
          .updateTable('attempts')
          .set({
            status: arg(0),
            updated_at: arg(1),
            lease_expires_at: null,
            lease_owner: null,
            ...(has.id ? { provider_message_id: arg(2) } : {}),
            ...(has.cost ? { cost: arg(3) } : {}),
            ...(has.error ? { error: arg(4) } : {}),
            ...(has.provider ? { provider: arg(6) } : {}),
            ...(has.route ? { route: arg(7) } : {}),
            ...(has.content ? { content: arg(8), language: arg(9), encoding: arg(10), segments: arg(11) } : {}),
          })
          .where('claim', '=', arg(5));
        return onlyFrom === undefined
          ? q
          : q.where(
              'status',
              'in',
              from.map((_, i) => arg(12 + i)),
            );
      },
      [
        set.status,
        now,
        set.providerMessageId,
        set.cost,
        set.error,
        claim,
        set.provider,
        set.route,
        c === undefined ? null : JSON.stringify(c.rendered),
        c?.language ?? null,
        sms?.encoding ?? null,
        sms?.segments ?? null,
        ...from,
      ],
    );
    return Number(r.numAffectedRows ?? 0) === 1;
  }
}

import type { Receipt, ReceiptStatus } from '@signalbox/engine';
import { sql } from 'kysely';
import { type Conn, json } from '../db/connection.js';
import { arg, oneOf, prepared } from '../db/prepared.js';
import { COLUMNS, type PendingReceiptsTable } from '../db/schema.js';
import { uuidv7 } from '../ids.js';

/** Receipts logged per statement on SQLite (its compound SELECT takes at most 500 terms). */
const SQLITE_ROWS = 200;

/** Parked receipts are applied in this order (a message's delivered before its read). */
const PARKED_ORDER: readonly ReceiptStatus[] = ['delivered', 'read', 'undelivered', 'failed'];

/**
 * Providers' receipts: the log per attempt, and receipts parked because they beat the send's own
 * bookkeeping (the provider's id was not recorded yet).
 */
export class ReceiptRepository {
  constructor(private readonly c: Conn) {}

  /**
   * Logs a receipt of an attempt; false (and nothing logged) when the same receipt (status and
   * time) is logged already: a provider retrying its webhook, or a batch made again.
   */
  async add(attemptId: string, status: ReceiptStatus, at: number, detail: unknown): Promise<boolean> {
    return (await this.addMany([{ attemptId, status, at, detail }])).length === 1;
  }

  /**
   * `add` for several receipts (of one attempt or many: a batch), in one statement: each logged
   * unless the same one (attempt, status, time) is there already (a unique index: also when another
   * transaction logs it at the same moment, the later one waits and logs nothing); those logged
   * already, or twice in the list, are left out. Returns the ones logged, in the order given. PostgreSQL binds the
   * list as arrays (one statement text for any length).
   */
  async addMany(
    list: ReadonlyArray<{ attemptId: string; status: ReceiptStatus; at: number; detail: unknown }>,
  ): Promise<Array<{ attemptId: string; status: ReceiptStatus; at: number }>> {
    const keyOf = (r: { attemptId: string; status: string; at: number }) => `${r.attemptId}\u0000${r.status}\u0000${r.at}`;
    const given = new Set<string>();
    const once = list.filter((r) => !given.has(keyOf(r)) && given.add(keyOf(r)) !== undefined);
    if (once.length === 0) return [];
    // SQLite's compound SELECT takes at most 500 terms
    if (this.c.dialect !== 'postgres' && once.length > SQLITE_ROWS) {
      const out: Array<{ attemptId: string; status: ReceiptStatus; at: number }> = [];
      for (let i = 0; i < once.length; i += SQLITE_ROWS) out.push(...(await this.addMany(once.slice(i, i + SQLITE_ROWS))));
      return out;
    }
    const rows = once.map((r) => [uuidv7(r.at), r.attemptId, r.status, r.at, json(r.detail)] as const);
    const { rows: logged } =
      this.c.dialect === 'postgres'
        ? await prepared<{ attempt_id: string; status: string; at: number }>(
            this.c,
            'add receipts once',
            (d) => ({
              compile: () =>
                sql<{ attempt_id: string; status: string; at: number }>`insert into receipts (id, attempt_id, status, at, detail)
                  select v.id, v.attempt_id, v.status, v.at, v.detail
                  from unnest(${arg(0)}::text[], ${arg(1)}::text[], ${arg(2)}::text[], ${arg(3)}::bigint[], ${arg(4)}::text[]) as v(id, attempt_id, status, at, detail)
                  -- the unique index decides, also between overlapping transactions: the later one waits for the
                  -- earlier to end and then logs nothing it logged
                  on conflict (attempt_id, status, at) do nothing
                  returning attempt_id, status, at`.compile(d),
            }),
            [0, 1, 2, 3, 4].map((k) => rows.map((r) => r[k])),
          )
        : await prepared<{ attempt_id: string; status: string; at: number }>(
            this.c,
            `add receipts once ${once.length}`,
            (d) => ({
              compile: () =>
                sql<{ attempt_id: string; status: string; at: number }>`insert into receipts (id, attempt_id, status, at, detail)
                  select v.id, v.attempt_id, v.status, v.at, v.detail from (${sql.join(
                    once.map(
                      (_, i) =>
                        sql`select ${arg(5 * i)} as id, ${arg(5 * i + 1)} as attempt_id, ${arg(5 * i + 2)} as status, ${arg(5 * i + 3)} as at, ${arg(5 * i + 4)} as detail`,
                    ),
                    sql` union all `,
                  )}) v
                  -- (SQLite has one writer: no transaction overlaps; the where clause also keeps "on" from reading as a join's)
                  where not exists (select 1 from receipts r where r.attempt_id = v.attempt_id and r.status = v.status and r.at = v.at)
                  on conflict (attempt_id, status, at) do nothing
                  returning attempt_id, status, at`.compile(d),
            }),
            rows.flat(),
          );
    const done = new Set(logged.map((r) => keyOf({ attemptId: r.attempt_id, status: r.status, at: Number(r.at) })));
    return once.filter((r) => done.has(keyOf(r))).map((r) => ({ attemptId: r.attemptId, status: r.status, at: r.at }));
  }

  async forAttempts(attemptIds: readonly string[]): Promise<Array<{ attemptId: string; status: ReceiptStatus; at: number }>> {
    if (attemptIds.length === 0) return [];
    const rows = await this.c.db
      .selectFrom('receipts')
      .select(['attempt_id', 'status', 'at'])
      .where('attempt_id', 'in', [...attemptIds])
      .orderBy('at')
      .execute();
    return rows.map((r) => ({ attemptId: r.attempt_id, status: r.status as ReceiptStatus, at: Number(r.at) }));
  }

  /** Parks a receipt whose provider id is not known yet (it raced the send). */
  async park(provider: string, r: Receipt, now: number): Promise<void> {
    await this.c.db
      .insertInto('pending_receipts')
      .values({ provider, provider_message_id: r.providerMessageId, status: r.status, at: r.at, received_at: now, error: r.error ?? null })
      .onConflict((oc) => oc.columns(['provider', 'provider_message_id', 'status']).doNothing())
      .execute();
  }

  /** `park` for several of one provider's receipts, in one statement (PostgreSQL; one each on SQLite). */
  async parkMany(provider: string, list: readonly Receipt[], now: number): Promise<void> {
    if (list.length === 0) return;
    if (this.c.dialect !== 'postgres') {
      for (const r of list) await this.park(provider, r, now);
      return;
    }
    await prepared(
      this.c,
      'park receipts',
      (d) => ({
        compile: () =>
          sql`insert into pending_receipts (provider, provider_message_id, status, at, received_at, error)
            select ${arg(0)}, v.provider_message_id, v.status, v.at, ${arg(1)}, v.error
            from unnest(${arg(2)}::text[], ${arg(3)}::text[], ${arg(4)}::text[], ${arg(5)}::text[]) as v(provider_message_id, status, at, error)
            on conflict (provider, provider_message_id, status) do nothing`.compile(d),
      }),
      [
        provider,
        now,
        list.map((r) => r.providerMessageId),
        list.map((r) => r.status),
        list.map((r) => r.at),
        list.map((r) => r.error ?? null),
      ],
    );
  }

  /** Takes the parked receipts of a provider id: whoever deletes a row applies it, exactly once. */
  async takeParked(provider: string, providerMessageId: string): Promise<Receipt[]> {
    const { rows } = await prepared(
      this.c,
      'take parked receipts',
      (d) =>
        d
          .deleteFrom('pending_receipts')
          .where('provider', '=', arg(0))
          .where('provider_message_id', '=', arg(1))
          .returning(COLUMNS.pending_receipts),
      [provider, providerMessageId],
    );
    return rows.map((r) => parkedReceipt(r)).sort((a, b) => PARKED_ORDER.indexOf(a.status) - PARKED_ORDER.indexOf(b.status));
  }

  /**
   * `takeParked` for several of one provider's ids at once (one statement; PostgreSQL binds the ids
   * as one array). Each id's receipts in the order they apply; ids with none are left out.
   */
  async takeParkedMany(provider: string, providerMessageIds: readonly string[]): Promise<Map<string, Receipt[]>> {
    if (providerMessageIds.length === 0) return new Map();
    const rows =
      this.c.dialect === 'postgres'
        ? (
            await prepared(
              this.c,
              'take parked, many',
              (d) =>
                d
                  .deleteFrom('pending_receipts')
                  .where('provider', '=', arg(0))
                  .where(sql<boolean>`provider_message_id = any(${arg(1)}::text[])`)
                  .returning(COLUMNS.pending_receipts),
              [provider, providerMessageIds],
            )
          ).rows
        : await this.c.db
            .deleteFrom('pending_receipts')
            .where('provider', '=', provider)
            .where('provider_message_id', 'in', [...providerMessageIds])
            .returning(COLUMNS.pending_receipts)
            .execute();
    const out = new Map<string, Receipt[]>();
    for (const r of rows) {
      const list = out.get(r.provider_message_id) ?? [];
      list.push(parkedReceipt(r));
      out.set(r.provider_message_id, list);
    }
    for (const list of out.values()) list.sort((a, b) => PARKED_ORDER.indexOf(a.status) - PARKED_ORDER.indexOf(b.status));
    return out;
  }

  /** Which of one provider's ids have receipts parked (looked at, not taken): a set of those ids. */
  async parkedAmong(provider: string, providerMessageIds: readonly string[]): Promise<Set<string>> {
    if (providerMessageIds.length === 0) return new Set();
    const ids = oneOf(this.c, providerMessageIds, 1);
    const { rows } = await prepared(
      this.c,
      `parked among ${ids.key}`,
      (d) =>
        d
          .selectFrom('pending_receipts')
          .select('provider_message_id')
          .distinct()
          .where('provider', '=', arg(0))
          .where(ids.on('provider_message_id')),
      [provider, ...ids.args],
    );
    return new Set(rows.map((r) => r.provider_message_id));
  }

  /** Parked receipts whose send has been recorded since (a race the two sides both missed). */
  async parkedNowKnown(limit: number): Promise<Array<{ provider: string; providerMessageId: string }>> {
    const rows = await this.c.db
      .selectFrom('pending_receipts')
      .innerJoin('attempts', (j) =>
        j
          .onRef('attempts.provider', '=', 'pending_receipts.provider')
          .onRef('attempts.provider_message_id', '=', 'pending_receipts.provider_message_id'),
      )
      .select(['pending_receipts.provider', 'pending_receipts.provider_message_id'])
      .distinct()
      .limit(limit)
      .execute();
    return rows.map((r) => ({ provider: r.provider, providerMessageId: r.provider_message_id }));
  }

  /** Drops parked receipts no send ever claimed (a provider's mistake, or another system's ids). */
  async dropParkedBefore(before: number): Promise<number> {
    const r = await this.c.db.deleteFrom('pending_receipts').where('received_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/** A parked row as the receipt it was (with why it failed, where it said). */
function parkedReceipt(r: PendingReceiptsTable): Receipt {
  return {
    providerMessageId: r.provider_message_id,
    status: r.status as ReceiptStatus,
    at: r.at,
    ...(r.error !== null && r.error !== undefined ? { error: r.error } : {}),
  };
}

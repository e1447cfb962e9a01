import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, oneOf, prepared } from '../db/prepared.js';
import type { TimersTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { uuidv7 } from '../ids.js';
import { type TimerFor, type TimerKind, type TimerPayload, timerKey, timerRow } from './timer-key.js';

export interface TimerRow {
  id: string;
  key: string;
  kind: TimerKind;
  ref: string | null;
  dueAt: number;
  payload: TimerPayload;
}

/**
 * "Not fired, not cancelled" for statements that find their timers by id, key or ref. Written so
 * that it does not match the partial indexes' predicate (`fired_at is null and cancelled_at is
 * null`): where it matched, a table without statistics (never analysed: autovacuum off or not yet
 * run) made PostgreSQL guess those indexes hold about one row, and a cached plan then walked every
 * pending timer of `timers_due` for one key instead of looking it up.
 */
const stillPending = sql<boolean>`coalesce(fired_at, cancelled_at) is null`;

const toTimer = (r: Selectable<TimersTable>): TimerRow => ({
  id: r.id,
  key: r.key,
  kind: r.kind as TimerKind,
  ref: r.ref,
  dueAt: Number(r.due_at),
  payload: parseJson(r.payload),
});

/**
 * Durable timers: deferred sends, fallback timeouts and journey waits. Workers claim due timers
 * with an expiring claim (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers), so a
 * crashed worker's timers are retaken and none fires twice.
 */
export class TimerRepository {
  constructor(
    private readonly c: Conn,
    private readonly writes: TimerWrites = new TimerWrites(),
  ) {}

  /**
   * The earliest due time of the timers this process scheduled (through any repository sharing
   * its `TimerWrites`: the store's, and every transaction's) since it was last asked; null: none.
   * A worker's round asks it after its units, instead of the database, whether one of them
   * scheduled a timer due by then.
   */
  takeEarliestWritten(): number | null {
    return this.writes.take();
  }

  /**
   * Schedules a timer once (unique key: a second schedule is a no-op and returns null). The timer
   * takes its contact from its message or journey instance (written in the same transaction), so
   * a contact's pending timers are found by `timers_contact`.
   */
  async schedule(t: TimerFor, dueAt: number, now: number): Promise<TimerRow | null> {
    await this.flushDeferred();
    this.writes.note(dueAt);
    const id = uuidv7(now);
    const { key, kind, ref, payload } = timerRow(t);
    const owner = kind === 'journey' ? 'journey_instances' : 'messages';
    const [r] = (
      await prepared(
        this.c,
        `schedule timer of ${owner}`,
        (d) =>
          d
            .insertInto('timers')
            .values({
              id: arg(0),
              key: arg(1),
              kind: arg(2),
              ref: arg(3),
              due_at: arg(4),
              payload: arg(5),
              claim_owner: null,
              claim_expires_at: null,
              fired_at: null,
              cancelled_at: null,
              created_at: arg(6),
              contact_id: sql<string | null>`(SELECT o.contact_id FROM ${sql.table(owner)} o WHERE o.id = ${arg(3)})`,
            })
            .onConflict((oc) => oc.column('key').doNothing())
            .returning('id'),
        [id, key, kind, ref, dueAt, json(payload), now],
      )
    ).rows;
    return r === undefined ? null : { id, key, kind, ref, dueAt, payload };
  }

  /**
   * `schedule` for several timers in one statement on PostgreSQL (one each on SQLite): each once
   * per key, the first scheduled winning. `now` is when each was scheduled (an item may say its own).
   */
  async scheduleMany(list: ReadonlyArray<{ t: TimerFor; dueAt: number; now?: number }>, now: number): Promise<void> {
    await this.flushDeferred();
    await this.writeMany(list, now);
  }

  private async writeMany(list: ReadonlyArray<{ t: TimerFor; dueAt: number; now?: number }>, now: number): Promise<void> {
    if (list.length === 0) return;
    if (this.c.dialect !== 'postgres') {
      for (const x of list) await this.schedule(x.t, x.dueAt, x.now ?? now);
      return;
    }
    for (const x of list) this.writes.note(x.dueAt);
    const rows = list.map((x) => ({ id: uuidv7(x.now ?? now), dueAt: x.dueAt, at: x.now ?? now, ...timerRow(x.t) }));
    await prepared(
      this.c,
      'schedule timers, many',
      (d) => ({
        // each takes its owner's contact (a message's or a journey instance's), as `schedule` does
        compile: () =>
          sql`insert into timers (id, key, kind, ref, due_at, payload, claim_owner, claim_expires_at, fired_at, cancelled_at, created_at, contact_id)
            select v.id, v.key, v.kind, v.ref, v.due_at, v.payload, null, null, null, null, v.created_at,
              case when v.kind = 'journey' then (select j.contact_id from journey_instances j where j.id = v.ref)
                else (select o.contact_id from messages o where o.id = v.ref) end
            from unnest(${arg(0)}::text[], ${arg(1)}::text[], ${arg(2)}::text[], ${arg(3)}::text[], ${arg(4)}::bigint[], ${arg(5)}::text[],
              ${arg(6)}::bigint[]) with ordinality as v(id, key, kind, ref, due_at, payload, created_at, n)
            order by v.n
            on conflict (key) do nothing`.compile(d),
      }),
      [
        rows.map((r) => r.id),
        rows.map((r) => r.key),
        rows.map((r) => r.kind),
        rows.map((r) => r.ref),
        rows.map((r) => r.dueAt),
        rows.map((r) => json(r.payload)),
        rows.map((r) => r.at),
      ],
    );
  }

  /** Timers scheduled with `scheduleLater` and not written yet (this repository lives as long as its transaction). */
  private deferred: Array<{ t: TimerFor; dueAt: number; now: number }> = [];

  /**
   * `schedule` whose statement waits (PostgreSQL, inside a transaction): the timers kept are written
   * together, in the order scheduled, before anything else reads or changes timers through this
   * repository, and before the transaction sets or releases a savepoint or commits (the store calls
   * `flushDeferred`); a savepoint rolled back drops them (`dropDeferred`). A unit of work's journeys
   * schedule their waits this way: one statement for the unit, not one per event.
   */
  async scheduleLater(t: TimerFor, dueAt: number, now: number): Promise<void> {
    if (this.c.dialect !== 'postgres' || !this.c.db.isTransaction) {
      await this.schedule(t, dueAt, now);
      return;
    }
    this.deferred.push({ t, dueAt, now });
  }

  /** Writes the timers `scheduleLater` kept. */
  async flushDeferred(): Promise<void> {
    if (this.deferred.length === 0) return;
    const list = this.deferred;
    this.deferred = [];
    await this.writeMany(list, (list[0] as { now: number }).now);
  }

  /** Forgets the timers `scheduleLater` kept (the savepoint they were scheduled under was rolled back). */
  dropDeferred(): void {
    this.deferred = [];
  }

  /**
   * Claims due timers for `owner` until `now + leaseMs`; oldest first. Looks at the head of the
   * timers first (no transaction when none is due) unless `look` is false: the caller has just seen one.
   */
  async claimDue(owner: string, now: number, leaseMs: number, limit: number, look = true): Promise<TimerRow[]> {
    await this.flushDeferred();
    if (look) {
      const due = await this.nextDue();
      if (due === null || due > now) return [];
    }
    const rows = await inTransaction(this.c, async (tx) => {
      let pick = tx.db
        .selectFrom('timers')
        .select('id')
        .where('fired_at', 'is', null)
        .where('cancelled_at', 'is', null)
        .where('due_at', '<=', now)
        .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<', now)]))
        .orderBy('due_at')
        .orderBy('id')
        .limit(limit);
      if (tx.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
      const ids = (await pick.execute()).map((r) => r.id);
      if (ids.length === 0) return [] as Array<Selectable<TimersTable>>;
      return tx.db
        .updateTable('timers')
        .set({ claim_owner: owner, claim_expires_at: now + leaseMs })
        .where('id', 'in', ids)
        .where(stillPending)
        .returningAll()
        .execute();
    });
    return rows.sort((a, b) => Number(a.due_at) - Number(b.due_at) || (a.id < b.id ? -1 : 1)).map(toTimer);
  }

  /** Marks a claimed timer fired; false if the claim was lost (expired and retaken) or it was cancelled. */
  async complete(id: string, owner: string, now: number): Promise<boolean> {
    await this.flushDeferred();
    const r = await prepared(
      this.c,
      'complete timer',
      (d) =>
        d
          .updateTable('timers')
          .set({ fired_at: arg(0) })
          .where('id', '=', arg(1))
          .where('claim_owner', '=', arg(2))
          .where(stillPending),
      [now, id, owner],
    );
    return Number(r.numAffectedRows ?? 0) === 1;
  }

  /** Gives claimed timers back unfired, due as they were (one statement). */
  async giveBack(ids: readonly string[], owner: string): Promise<void> {
    if (ids.length === 0) return;
    await this.flushDeferred();
    await this.c.db
      .updateTable('timers')
      .set({ claim_owner: null, claim_expires_at: null })
      .where('id', 'in', ids)
      .where('claim_owner', '=', owner)
      .where('fired_at', 'is', null)
      .execute();
  }

  /** Gives a claimed timer back, to be tried again at `retryAt`. */
  async release(id: string, owner: string, retryAt: number): Promise<void> {
    await this.flushDeferred();
    await this.c.db
      .updateTable('timers')
      .set({ claim_owner: null, claim_expires_at: null, due_at: retryAt })
      .where('id', '=', id)
      .where('claim_owner', '=', owner)
      .where('fired_at', 'is', null)
      .execute();
  }

  /**
   * Gives back every claim of `owner` (`'*'`: anyone's) at once, so a restarted instance does not
   * wait out its own leases. Returns how many.
   */
  async releaseClaimsOf(owner: string): Promise<number> {
    await this.flushDeferred();
    let q = this.c.db
      .updateTable('timers')
      .set({ claim_owner: null, claim_expires_at: null })
      .where('fired_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .where('claim_owner', 'is not', null);
    if (owner !== '*') q = q.where('claim_owner', '=', owner);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Cancels pending timers. */
  async cancel(timers: readonly TimerFor[], now: number): Promise<number> {
    await this.flushDeferred();
    if (timers.length === 0) return 0;
    const keys = oneOf(this.c, timers.map(timerKey), 1);
    const r = await prepared(
      this.c,
      `cancel timers by key ${keys.key}`,
      (d) =>
        d
          .updateTable('timers')
          .set({ cancelled_at: arg(0) })
          .where(keys.on('key'))
          .where(stillPending),
      [now, ...keys.args],
    );
    return Number(r.numAffectedRows ?? 0);
  }

  /** Cancels every pending timer of a message or journey instance. */
  async cancelFor(ref: string, now: number): Promise<number> {
    await this.flushDeferred();
    const r = await this.c.db
      .updateTable('timers')
      .set({ cancelled_at: now })
      .where('ref', '=', ref)
      .where(stillPending)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /**
   * A contact's pending timers (its messages' steps and timeouts, its journeys' waits) due from
   * `from` on, soonest first: one range of the `timers_contact` index.
   */
  async pendingOf(contactId: string, from: number, limit: number): Promise<TimerRow[]> {
    await this.flushDeferred();
    const rows = (
      await prepared(
        this.c,
        'pending timers of a contact',
        (d) =>
          d
            .selectFrom('timers')
            .selectAll()
            .where('contact_id', '=', arg(0))
            .where('fired_at', 'is', null)
            .where('cancelled_at', 'is', null)
            .where('due_at', '>=', arg(1))
            .orderBy('due_at')
            .limit(arg(2)),
        [contactId, from, limit],
      )
    ).rows;
    return rows.map(toTimer);
  }

  /** Every pending timer, soonest first (tests, operations). */
  async pending(): Promise<TimerRow[]> {
    await this.flushDeferred();
    const rows = await this.c.db
      .selectFrom('timers')
      .selectAll()
      .where('fired_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .orderBy('due_at')
      .execute();
    return rows.map(toTimer);
  }

  async nextDue(): Promise<number | null> {
    await this.flushDeferred();
    // the head of `timers_due`: `order by … limit 1` walks it from the start whatever the planner
    // estimates (`min()` without statistics was planned as an aggregate over every pending timer)
    const r = await prepared(
      this.c,
      'next due timer',
      (d) =>
        d.selectFrom('timers').select('due_at').where('fired_at', 'is', null).where('cancelled_at', 'is', null).orderBy('due_at').limit(1),
      [],
    );
    const due = r.rows[0]?.due_at;
    return due == null ? null : Number(due);
  }

  /** Timers due by `now` and not fired yet. */
  async dueCount(now: number): Promise<number> {
    await this.flushDeferred();
    const r = await this.c.db
      .selectFrom('timers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('fired_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .where('due_at', '<=', now)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

/**
 * The earliest due time of the timers one process scheduled since it was last asked (noted as
 * they are written; a write rolled back afterwards leaves a note that costs a look for nothing).
 */
export class TimerWrites {
  private earliest: number | null = null;

  note(dueAt: number): void {
    if (this.earliest === null || dueAt < this.earliest) this.earliest = dueAt;
  }

  take(): number | null {
    const e = this.earliest;
    this.earliest = null;
    return e;
  }
}

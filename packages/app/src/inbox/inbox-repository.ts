import { sql } from 'kysely';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, prepared, runPrepared } from '../db/prepared.js';
import type { InboxTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { uuidv7 } from '../ids.js';
import { type DeadLetter, deadCount, deadLetters, type InboxListed, type InboxState, listInbox } from './inbox-views.js';

export type { DeadLetter, InboxListed, InboxState } from './inbox-views.js';

/**
 * `ready`: the payload is an event in our vocabulary, applied as it is (the API's events).
 * `raw`: what a CRM sent, as it sent it; its source's step (mapping, contact resolution through
 * the CRM) runs before it is applied, outside any transaction.
 */
export type InboxStage = 'ready' | 'raw';

export interface InboxRow {
  id: string;
  source: string;
  eventId: string;
  type: string;
  stage: InboxStage;
  payload: unknown;
  receivedAt: number;
  /** Failed tries so far. */
  attempts: number;
  /** The trace it continues (see InboxTable.trace). */
  trace: string | null;
}

/** An event to accept into the inbox (unique on source and event id). */
export interface InboxEntry {
  source: string;
  eventId: string;
  type: string;
  payload: unknown;
  stage?: InboxStage;
  /** What the event is about (see InboxTable.lane); an API event's is its contact reference. */
  lane?: string | null;
  /** The trace it continues (see InboxTable.trace). */
  trace?: string | null;
}

/** Rows per prepared inbox INSERT (so at most this many statement shapes). */
const ROWS_PER_STATEMENT = 32;

/** The inbox's columns, each with its PostgreSQL type (every insert names them all: see also store/accept-checked.ts). */
export const INBOX_COLUMNS = [
  ['id', 'text'],
  ['source', 'text'],
  ['event_id', 'text'],
  ['type', 'text'],
  ['stage', 'text'],
  ['payload', 'text'],
  ['received_at', 'bigint'],
  ['processed_at', 'bigint'],
  ['claim_owner', 'text'],
  ['claim_expires_at', 'bigint'],
  ['attempts', 'integer'],
  ['error', 'text'],
  ['dead_at', 'bigint'],
  ['lane', 'text'],
  ['trace', 'text'],
] as const satisfies ReadonlyArray<readonly [keyof InboxTable, 'text' | 'bigint' | 'integer']>;

const COLUMNS = INBOX_COLUMNS.map(([col]) => col);

/** An inbox row of arguments (row `i` of a prepared multi-row insert). */
function rowArgs(i: number): InboxTable {
  return Object.fromEntries(COLUMNS.map((c, k) => [c, arg(i * COLUMNS.length + k)])) as unknown as InboxTable;
}

/** The row an accepted event becomes (the payload may be given as the text it came in). */
export function inboxRow(e: InboxEntry, now: number, payloadText?: string): InboxTable {
  return {
    id: uuidv7(now),
    source: e.source,
    event_id: e.eventId,
    type: e.type,
    stage: e.stage ?? 'ready',
    payload: payloadText ?? json(e.payload),
    received_at: now,
    processed_at: null,
    claim_owner: null,
    claim_expires_at: null,
    attempts: 0,
    error: null,
    dead_at: null,
    lane: e.lane !== undefined ? e.lane : laneOf(e),
    trace: e.trace ?? null,
  };
}

/** How many times `limit` candidates a PostgreSQL take looks through (see takeInLanes). */
const TAKE_WINDOW = 8;

/**
 * An event's lane when it names its contact (the API's events): `c:<id>`, or its first identity.
 * Events naming one contact the same way apply in the order received, whichever instance takes them.
 */
export function laneOf(e: Pick<InboxEntry, 'payload' | 'stage'>): string | null {
  if ((e.stage ?? 'ready') !== 'ready' || typeof e.payload !== 'object' || e.payload === null) return null;
  const contact = (e.payload as { contact?: { id?: unknown; identities?: Array<{ kind?: unknown; value?: unknown }> } }).contact;
  if (typeof contact?.id === 'string') return `c:${contact.id}`;
  const first = contact?.identities?.[0];
  return typeof first?.kind === 'string' && typeof first.value === 'string'
    ? `i:${first.kind}:${first.value.replace(/[\s()-]/g, '').toLowerCase()}`.slice(0, 300)
    : null;
}

const toRow = (
  r: Pick<InboxTable, 'id' | 'source' | 'event_id' | 'type' | 'stage' | 'payload' | 'received_at' | 'attempts' | 'trace'>,
): InboxRow => ({
  id: r.id,
  source: r.source,
  eventId: r.event_id,
  type: r.type,
  stage: r.stage as InboxStage,
  payload: parseJson(r.payload),
  receivedAt: Number(r.received_at),
  attempts: r.attempts,
  trace: r.trace ?? null,
});

/**
 * Everything a CRM, an integration or a provider sent us, durable before we answered; workers
 * apply it afterwards, each event on its own: applied, or retried with backoff and then kept as a
 * dead letter with its error (listable, and retried on request).
 */
export class InboxRepository {
  constructor(private readonly c: Conn) {}

  /** Stores one event; `duplicate` when (source, event id) was already there. */
  async accept(e: InboxEntry, now: number): Promise<{ id: string; duplicate: boolean }> {
    const row = inboxRow(e, now);
    const inserted = await this.insertRows([row]);
    if (inserted.has(row.id)) return { id: row.id, duplicate: false };
    const existing = await this.c.db
      .selectFrom('inbox')
      .select('id')
      .where('source', '=', e.source)
      .where('event_id', '=', e.eventId)
      .executeTakeFirstOrThrow();
    return { id: existing.id, duplicate: true };
  }

  /** Many events, atomically: a batch is durable as a whole before we answer. */
  async acceptMany(events: readonly InboxEntry[], now: number): Promise<{ accepted: number; duplicates: number }> {
    const inserted = await this.insertRows(events.map((e) => inboxRow(e, now)));
    return { accepted: inserted.size, duplicates: events.length - inserted.size };
  }

  /**
   * Inserts rows atomically; returns the ids of the rows that went in (a row whose (source, event
   * id) was there already, or earlier in the list, does not).
   */
  async insertRows(values: readonly InboxTable[]): Promise<Set<string>> {
    if (values.length === 0) return new Set();
    // prepared per row count (≤ ROWS_PER_STATEMENT shapes): building and compiling a multi-row
    // INSERT with Kysely cost more than SQLite's own work on the ingest path (measured)
    const insert = async (c: Conn, chunk: readonly InboxTable[]) =>
      (
        await runPrepared(
          c.db,
          c.dialect,
          `accept inbox ${chunk.length}`,
          () =>
            c.db
              .insertInto('inbox')
              .values(chunk.map((_, i) => rowArgs(i)))
              .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
              .returning('id'),
          chunk.flatMap((r) => COLUMNS.map((col) => r[col])),
        )
      ).rows;
    if (values.length <= ROWS_PER_STATEMENT) return new Set((await insert(this.c, values)).map((r) => r.id));
    return inTransaction(this.c, async (tx) => {
      const ids = new Set<string>();
      for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT)
        for (const r of await insert(tx, values.slice(i, i + ROWS_PER_STATEMENT))) ids.add(r.id);
      return ids;
    });
  }

  /**
   * Whether any event of `stage` waits (looked at without a write transaction: an idle worker must
   * not take SQLite's write lock just to find nothing).
   */
  async hasWork(now: number, stage: InboxStage = 'ready'): Promise<boolean> {
    const any = await prepared(
      this.c,
      `inbox has work ${stage}`,
      (d) =>
        d
          .selectFrom('inbox')
          .select('id')
          .where('processed_at', 'is', null)
          // the stage written into the text: a bound parameter could not select its partial index
          // (`inbox_pending`, `inbox_raw`) in a cached generic plan, which then scanned the table
          .where('stage', '=', sql.lit(stage))
          .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<', arg(0))]))
          .orderBy('received_at')
          .orderBy('id')
          .limit(1),
      [now],
    );
    return any.rows.length > 0;
  }

  /**
   * The next ready events, oldest first, taken inside the caller's transaction: applied, marked
   * finished and committed together, so no lease is needed (a crash rolls the taking back with the
   * rest). PostgreSQL locks the rows it hands out and skips rows another worker's transaction
   * holds; SQLite has one writer at a time. Rows held back after a failure wait for their time.
   */
  async take(now: number, limit: number): Promise<InboxRow[]> {
    if (!this.c.db.isTransaction) throw new Error('InboxRepository.take runs inside a transaction');
    if (this.c.dialect === 'postgres') return this.takeInLanes(now, limit);
    const pick = this.c.db
      .selectFrom('inbox')
      .select(['id', 'source', 'event_id', 'type', 'stage', 'payload', 'received_at', 'attempts', 'trace'])
      .where('processed_at', 'is', null)
      .where('stage', '=', 'ready')
      .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<', now)]))
      .orderBy('received_at')
      .orderBy('id')
      .limit(limit);
    return (await pick.execute()).map(toRow);
  }

  /**
   * PostgreSQL, several workers: the oldest pending events, each taken only with its lane. A lane
   * is locked for the rest of the transaction (an advisory lock, tried in the order received, before
   * the row is locked), so while one worker applies a contact's events no other takes a later one
   * of the same contact: they apply in order. Candidates come first (no locks): the oldest
   * `TAKE_WINDOW` × `limit`, so units taking side by side (this instance's and others') each find
   * events the ones before them left, rather than all trying the same `limit` oldest. They are tried
   * in order (a nested loop over the materialised candidates: the lane's lock is tried on the
   * candidate, then its row is locked), and trying stops once `limit` are taken. A row finished or
   * taken meanwhile is re-checked under its lock and left out, its lane then held to the commit
   * without an event of it taken. Where such a row was held by a writer without its lane (a failed
   * try recorded after a unit's commit failed), a later event of the lane may be taken before it,
   * as a later event overtakes one held back for a retry.
   */
  private async takeInLanes(now: number, limit: number): Promise<InboxRow[]> {
    const r = await sql<
      Pick<InboxTable, 'id' | 'source' | 'event_id' | 'type' | 'stage' | 'payload' | 'received_at' | 'attempts' | 'trace'>
    >`
      with c as materialized (
        select id, lane, received_at from inbox
        where processed_at is null and stage = 'ready' and (claim_expires_at is null or claim_expires_at < ${now})
        order by received_at, id
        limit ${limit * TAKE_WINDOW}
      )
      select i.id, i.source, i.event_id, i.type, i.stage, i.payload, i.received_at, i.attempts, i.trace
      from c cross join lateral (
        select x.id, x.source, x.event_id, x.type, x.stage, x.payload, x.received_at, x.attempts, x.trace
        from inbox x where x.id = c.id and x.processed_at is null
        for update skip locked
      ) i
      where c.lane is null or pg_try_advisory_xact_lock(hashtextextended(c.lane, 7))
      limit ${limit}`.execute(this.c.db);
    return r.rows.map(toRow).sort((a, b) => a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Raw events waiting for their source's step (read only; `takeRaw` takes them). */
  async peekRaw(now: number, limit: number): Promise<InboxRow[]> {
    const rows = await this.c.db
      .selectFrom('inbox')
      .select(['id', 'source', 'event_id', 'type', 'stage', 'payload', 'received_at', 'attempts', 'trace'])
      .where('processed_at', 'is', null)
      .where('stage', '=', 'raw')
      .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<', now)]))
      .orderBy('received_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toRow);
  }

  /** The raw events named that are still pending, taken inside the caller's transaction. */
  async takeRaw(ids: readonly string[]): Promise<Set<string>> {
    if (!this.c.db.isTransaction) throw new Error('InboxRepository.takeRaw runs inside a transaction');
    if (ids.length === 0) return new Set();
    if (this.c.dialect === 'postgres') {
      // in the order received, each with its lane (see takeInLanes)
      const r = await sql<{ id: string }>`
        with c as materialized (
          select id, lane, received_at from inbox where id in (${sql.join([...ids])}) and processed_at is null order by received_at, id
        )
        select i.id from c join inbox i on i.id = c.id
        where (c.lane is null or pg_try_advisory_xact_lock(hashtextextended(c.lane, 7))) and i.processed_at is null
        order by c.received_at, c.id
        for update of i skip locked`.execute(this.c.db);
      return new Set(r.rows.map((x) => x.id));
    }
    const rows = await this.c.db
      .selectFrom('inbox')
      .select('id')
      .where('id', 'in', [...ids])
      .where('processed_at', 'is', null)
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Marks a taken event done; `note` says why it changed nothing (e.g. an event no map names). */
  async finish(id: string, now: number, note: string | null = null): Promise<void> {
    await prepared(
      this.c,
      'finish inbox',
      (d) =>
        d
          .updateTable('inbox')
          .set({ processed_at: arg(0), claim_owner: null, claim_expires_at: null, error: arg(2) })
          .where('id', '=', arg(1))
          .where('processed_at', 'is', null),
      [now, id, note],
    );
  }

  /** Marks taken events done, in one statement (PostgreSQL binds the ids as one array: one shape). */
  async finishMany(ids: readonly string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    if (ids.length === 1) return this.finish(ids[0] as string, now);
    const done = { processed_at: now, claim_owner: null, claim_expires_at: null, error: null };
    if (this.c.dialect === 'postgres')
      await prepared(
        this.c,
        'finish inbox, many',
        (d) =>
          d
            .updateTable('inbox')
            .set({ processed_at: arg(0), claim_owner: null, claim_expires_at: null, error: null })
            .where(sql<boolean>`id = any(${arg(1)}::text[])`)
            .where('processed_at', 'is', null),
        [now, ids],
      );
    else
      await this.c.db
        .updateTable('inbox')
        .set(done)
        .where('id', 'in', [...ids])
        .where('processed_at', 'is', null)
        .execute();
  }

  /**
   * A failed try, counted: the event is held back until `retryAt`, or kept as a dead letter
   * (`deadAt`): it leaves the backlog with its error, until someone retries it.
   */
  async failed(id: string, error: string, next: { retryAt: number } | { deadAt: number }): Promise<void> {
    await this.c.db
      .updateTable('inbox')
      .set(
        'retryAt' in next
          ? { error: error.slice(0, 2000), claim_owner: 'retry', claim_expires_at: next.retryAt, attempts: sql`attempts + 1` }
          : {
              error: error.slice(0, 2000),
              processed_at: next.deadAt,
              dead_at: next.deadAt,
              claim_owner: null,
              claim_expires_at: null,
              attempts: sql`attempts + 1`,
            },
      )
      .where('id', '=', id)
      .where('processed_at', 'is', null)
      .execute();
  }

  /** Events not applied yet (ready and raw). */
  async backlog(): Promise<number> {
    const r = await this.c.db
      .selectFrom('inbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('processed_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Puts a dead letter back in the backlog, to be tried again now; false if it is not one. */
  async retry(id: string): Promise<boolean> {
    const r = await this.c.db
      .updateTable('inbox')
      .set({ processed_at: null, dead_at: null, claim_owner: null, claim_expires_at: null, attempts: 0 })
      .where('id', '=', id)
      .where('dead_at', 'is not', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Dead letters, newest first (see `deadLetters`). */
  deadLetters(limit: number, before?: { deadAt: number; id: string }): Promise<DeadLetter[]> {
    return deadLetters(this.c, limit, before);
  }

  /** Events newest first by state, source and type (see `listInbox`). */
  list(
    f: { state?: InboxState | undefined; source?: string | undefined; type?: string | undefined },
    limit: number,
    after?: { receivedAt: number; id: string },
  ): Promise<InboxListed[]> {
    return listInbox(this.c, f, limit, after);
  }

  deadCount(): Promise<number> {
    return deadCount(this.c);
  }
}

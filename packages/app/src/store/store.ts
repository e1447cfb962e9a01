import type { ConsentRecord, Contact, ContactInput, Identity, IdentityKind, PastEvent, SentRecord } from '@signalbox/engine';
import { type Compilable, type Kysely, type QueryResult, sql, type Transaction } from 'kysely';
import { uuidv7 } from '../ids.js';
import type { Dialect, OpenDatabase } from './database.js';
import { CRM_KINDS, normalizeIdentity, SINGULAR_KINDS } from './identity.js';
import { arg, runPrepared } from './prepared.js';
import type { Database, InboxTable, MessagesTable, TimersTable } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export type StoredContact = Contact & { createdAt: string; updatedAt: string };
export interface UpsertResult {
  contact: StoredContact;
  created: boolean;
  /** Contacts merged into this one (they shared an identity). */
  merged: string[];
  /** Identities claimed by another contact that conflicts with this one: recorded, not overwritten. */
  conflicts: Array<{ kind: string; value: string; otherContactId: string }>;
}

export interface InboxRow {
  id: string;
  source: string;
  eventId: string;
  type: string;
  payload: unknown;
  receivedAt: number;
  attempts: number;
}

export interface TimerRow {
  id: string;
  key: string;
  kind: string;
  ref: string | null;
  dueAt: number;
  payload: unknown;
}

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
  status: string;
  outcome: string;
  channel: string | null;
  cost: number;
  request: unknown;
  decision: unknown;
  createdAt: number;
  updatedAt: number;
}

export interface AttemptRow {
  id: string;
  messageId: string;
  step: number;
  channel: string;
  provider: string;
  claim: string;
  providerMessageId: string | null;
  status: string;
  cost: number;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

const json = (v: unknown) => JSON.stringify(v);
const parse = <T>(s: string): T => JSON.parse(s) as T;

function toMessage(r: MessagesTable): MessageRow {
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
    status: r.status,
    outcome: r.outcome,
    channel: r.channel,
    cost: Number(r.cost),
    request: parse(r.request),
    decision: parse(r.decision),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/**
 * The Store port: every durable thing Signalbox keeps. One implementation over Kysely serves
 * both adapters (SQLite embedded, PostgreSQL production); the few dialect differences are local.
 */
export class Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  private readonly closeDb: () => Promise<void>;
  private readonly writersWaiting: () => number;

  constructor(open: OpenDatabase) {
    this.db = open.db;
    this.dialect = open.dialect;
    this.closeDb = open.close;
    this.writersWaiting = open.writersWaiting ?? (() => 0);
  }

  /**
   * Whether another connection is waiting for the write lock this one holds (SQLite: one writer
   * per file); a group of units of work commits early when it is. Always false on PostgreSQL.
   */
  othersWaitingToWrite(): boolean {
    return this.writersWaiting() > 0;
  }

  close(): Promise<void> {
    return this.closeDb();
  }

  /**
   * Runs `fn` with a store whose every call is part of one transaction (committed when `fn`
   * resolves, rolled back when it throws). Inside, store methods that need their own transaction
   * join the outer one. Never call a provider or anything that uses another store from inside: on
   * SQLite the one connection is held until the end.
   */
  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return this.db
      .transaction()
      .execute((trx) => fn(new Store({ db: trx, dialect: this.dialect, close: this.closeDb, writersWaiting: this.writersWaiting })));
  }

  /** Savepoints inside `transaction()` (SQLite and PostgreSQL spell them the same). */
  async savepoint(name: string): Promise<void> {
    await this.prepared(this.db, `savepoint ${name}`, (d) => ({ compile: () => sql`savepoint ${sql.id(name)}`.compile(d) }), []);
  }

  async releaseSavepoint(name: string): Promise<void> {
    await this.prepared(this.db, `release ${name}`, (d) => ({ compile: () => sql`release savepoint ${sql.id(name)}`.compile(d) }), []);
  }

  async rollbackToSavepoint(name: string): Promise<void> {
    await sql`rollback to savepoint ${sql.id(name)}`.execute(this.db);
    await sql`release savepoint ${sql.id(name)}`.execute(this.db);
  }

  /** A hot statement, built and compiled once (see prepared.ts). */
  private prepared<R>(db: Db, key: string, build: (db: Db) => Compilable<R>, args: readonly unknown[]): Promise<QueryResult<R>> {
    return runPrepared(db, this.dialect, key, () => build(db), args);
  }

  private tx<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.isTransaction ? fn(this.db as Transaction<Database>) : this.db.transaction().execute(fn);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  // ---------------------------------------------------------------- contacts and identity

  /**
   * Creates or updates a contact found by any of its identities. Records sharing an identity
   * merge into the oldest; a record that shares a phone or email with a contact carrying a
   * different CRM id or email is a different person: a conflict is recorded, nothing overwritten.
   */
  async upsertContact(input: Omit<ContactInput, 'id'> & { id?: string; identities: Identity[] }, now: number): Promise<UpsertResult> {
    const identities = input.identities.map((i, k) => ({
      kind: i.kind,
      value: normalizeIdentity(i.kind, i.value, `/identities/${k}/value`),
    }));
    return this.tx(async (trx) => {
      const matches = new Map<string, Array<{ kind: string; value: string }>>();
      for (const id of identities) {
        const row = await trx
          .selectFrom('identities')
          .select('contact_id')
          .where('kind', '=', id.kind)
          .where('value', '=', id.value)
          .executeTakeFirst();
        if (row) matches.set(row.contact_id, [...(matches.get(row.contact_id) ?? []), id]);
      }
      if (input.id !== undefined) {
        const own = await trx.selectFrom('contacts').select(['id', 'merged_into']).where('id', '=', input.id).executeTakeFirst();
        if (own) matches.set(own.merged_into ?? own.id, matches.get(own.merged_into ?? own.id) ?? []);
      }
      // which matched contacts are the same person, which conflict
      const same: string[] = [];
      const conflicts: UpsertResult['conflicts'] = [];
      for (const [contactId, via] of matches) {
        const theirs = await trx.selectFrom('identities').select(['kind', 'value']).where('contact_id', '=', contactId).execute();
        const viaCrm = via.some((v) => CRM_KINDS.has(v.kind));
        const clash =
          !viaCrm &&
          identities.some((mine) => SINGULAR_KINDS.has(mine.kind) && theirs.some((t) => t.kind === mine.kind && t.value !== mine.value));
        if (clash && input.id !== contactId) {
          for (const v of via) conflicts.push({ kind: v.kind, value: v.value, otherContactId: contactId });
        } else same.push(contactId);
      }
      const contested = new Set(conflicts.map((c) => `${c.kind}:${c.value}`));
      let survivor: string;
      let created = false;
      if (same.length === 0) {
        survivor = input.id ?? uuidv7(now);
        created = true;
        await trx
          .insertInto('contacts')
          .values({
            id: survivor,
            data: json(
              contactData(
                {
                  id: survivor,
                  identities: [],
                  capabilities: {},
                  lastInbound: {},
                  preferences: {},
                  engagement: {},
                  tags: [],
                  attributes: {},
                },
                input,
              ),
            ),
            merged_into: null,
            version: 0,
            created_at: now,
            updated_at: now,
          })
          .execute();
      } else {
        const rows = await trx.selectFrom('contacts').selectAll().where('id', 'in', same).orderBy('created_at').orderBy('id').execute();
        const first = rows[0];
        if (first === undefined) throw new Error('matched contact vanished');
        survivor = first.id;
        let data = parse<Contact>(first.data);
        for (const loser of rows.slice(1)) {
          data = mergeData(data, parse<Contact>(loser.data));
          await this.moveContact(trx, loser.id, survivor, now);
        }
        data = contactData(data, input);
        await trx
          .updateTable('contacts')
          .set({ data: json(data), updated_at: now, version: sql`version + 1` })
          .where('id', '=', survivor)
          .execute();
      }
      for (const id of identities) {
        if (contested.has(`${id.kind}:${id.value}`)) continue;
        await this.claimIdentity(trx, survivor, id.kind, id.value, now);
      }
      for (const c of conflicts) {
        await trx
          .insertInto('identity_conflicts')
          .values({
            id: uuidv7(now),
            kind: c.kind,
            value: c.value,
            contact_id: survivor,
            other_contact_id: c.otherContactId,
            detail: `${c.kind} ${c.value} already belongs to contact ${c.otherContactId}, whose ${[...SINGULAR_KINDS].join('/')} differ`,
            created_at: now,
          })
          .execute();
      }
      const contact = await this.readContact(trx, survivor);
      if (contact === null) throw new Error('contact vanished');
      return { contact, created, merged: same.filter((s) => s !== survivor), conflicts };
    });
  }

  private async claimIdentity(trx: Db, contactId: string, kind: string, value: string, now: number): Promise<void> {
    const existing = await trx
      .selectFrom('identities')
      .select('contact_id')
      .where('kind', '=', kind)
      .where('value', '=', value)
      .executeTakeFirst();
    if (existing === undefined) {
      await trx.insertInto('identities').values({ kind, value, contact_id: contactId, created_at: now }).execute();
    } else if (existing.contact_id !== contactId) {
      await trx.updateTable('identities').set({ contact_id: contactId }).where('kind', '=', kind).where('value', '=', value).execute();
    }
    // a singular kind has one value per contact: a new email replaces the old one
    if (SINGULAR_KINDS.has(kind)) {
      await trx.deleteFrom('identities').where('contact_id', '=', contactId).where('kind', '=', kind).where('value', '!=', value).execute();
    }
  }

  private async moveContact(trx: Db, from: string, to: string, now: number): Promise<void> {
    await trx.updateTable('identities').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('consent_ledger').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('contact_events').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('messages').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('journey_instances').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('contacts').set({ merged_into: to, updated_at: now }).where('id', '=', from).execute();
  }

  private async readContact(db: Db, id: string): Promise<StoredContact | null> {
    const [row] = (await this.prepared(db, 'contact', (d) => d.selectFrom('contacts').selectAll().where('id', '=', arg(0)), [id])).rows;
    if (row === undefined) return null;
    if (row.merged_into !== null) return this.readContact(db, row.merged_into);
    const ids = (
      await this.prepared(
        db,
        'contact identities',
        (d) => d.selectFrom('identities').select(['kind', 'value']).where('contact_id', '=', arg(0)).orderBy('kind').orderBy('value'),
        [row.id],
      )
    ).rows;
    return {
      ...parse<Contact>(row.data),
      id: row.id,
      identities: ids.map((i) => ({ kind: i.kind as IdentityKind, value: i.value })),
      createdAt: new Date(Number(row.created_at)).toISOString(),
      updatedAt: new Date(Number(row.updated_at)).toISOString(),
    };
  }

  /** The id a contact id stands for now (following merges), or null: existence without the record. */
  async currentContactId(id: string): Promise<string | null> {
    const [row] = (
      await this.prepared(this.db, 'contact id', (d) => d.selectFrom('contacts').select(['id', 'merged_into']).where('id', '=', arg(0)), [
        id,
      ])
    ).rows;
    if (row === undefined) return null;
    return row.merged_into === null ? row.id : this.currentContactId(row.merged_into);
  }

  /** A contact by id (following merges), or null. */
  getContact(id: string): Promise<StoredContact | null> {
    return this.readContact(this.db, id);
  }

  async findContactByIdentity(kind: IdentityKind, value: string): Promise<StoredContact | null> {
    let v: string;
    try {
      v = normalizeIdentity(kind, value);
    } catch {
      return null;
    }
    const row = await this.db
      .selectFrom('identities')
      .select('contact_id')
      .where('kind', '=', kind)
      .where('value', '=', v)
      .executeTakeFirst();
    return row ? this.readContact(this.db, row.contact_id) : null;
  }

  async identityConflicts(
    contactId: string,
  ): Promise<Array<{ kind: string; value: string; otherContactId: string; detail: string; at: string }>> {
    const rows = await this.db
      .selectFrom('identity_conflicts')
      .selectAll()
      .where((eb) => eb.or([eb('contact_id', '=', contactId), eb('other_contact_id', '=', contactId)]))
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      kind: r.kind,
      value: r.value,
      otherContactId: r.contact_id === contactId ? r.other_contact_id : r.contact_id,
      detail: r.detail,
      at: new Date(Number(r.created_at)).toISOString(),
    }));
  }

  /** Read-modify-write of a contact's data in one transaction (engagement, last inbound). */
  async updateContactData(id: string, now: number, change: (c: Contact) => Contact): Promise<void> {
    await this.tx(async (trx) => {
      const [row] = (
        await this.prepared(
          trx,
          'contact data for update',
          (d) => {
            const q = d.selectFrom('contacts').select(['data', 'merged_into']).where('id', '=', arg(0));
            // concurrent receipts update the same contact: lock the row (SQLite serialises writers already)
            return this.dialect === 'postgres' ? q.forUpdate() : q;
          },
          [id],
        )
      ).rows;
      if (row === undefined) return;
      if (row.merged_into !== null) return;
      const next = change(parse<Contact>(row.data));
      await this.prepared(
        trx,
        'contact data update',
        (d) =>
          d
            .updateTable('contacts')
            .set({ data: arg(0), updated_at: arg(1), version: sql`version + 1` })
            .where('id', '=', arg(2)),
        [json(next), now, id],
      );
    });
  }

  // ---------------------------------------------------------------- consent and events

  async appendConsent(contactId: string, r: ConsentRecord, now: number): Promise<string> {
    const id = uuidv7(now);
    await this.db
      .insertInto('consent_ledger')
      .values({
        id,
        contact_id: contactId,
        channel: r.channel,
        purpose: r.purpose,
        status: r.status,
        source: r.source,
        legal_basis: r.legalBasis ?? null,
        evidence: r.evidence ?? null,
        at: Date.parse(r.at),
        recorded_at: now,
      })
      .execute();
    return id;
  }

  async consentLedger(contactId: string): Promise<ConsentRecord[]> {
    const { rows } = await this.prepared(
      this.db,
      'consent ledger',
      (d) => d.selectFrom('consent_ledger').selectAll().where('contact_id', '=', arg(0)).orderBy('at').orderBy('id'),
      [contactId],
    );
    return rows.map((r) => {
      const rec: ConsentRecord = {
        channel: r.channel,
        purpose: r.purpose as ConsentRecord['purpose'],
        status: r.status as ConsentRecord['status'],
        source: r.source as ConsentRecord['source'],
        at: new Date(Number(r.at)).toISOString(),
      };
      if (r.legal_basis !== null) rec.legalBasis = r.legal_basis;
      if (r.evidence !== null) rec.evidence = r.evidence;
      return rec;
    });
  }

  async recordContactEvent(
    contactId: string,
    e: { id: string; type: string; at: number; object?: { type: string; id: string } | undefined; data: unknown },
  ): Promise<void> {
    // a redelivered event is already there (no error: inside a PostgreSQL transaction one would abort it)
    await this.prepared(
      this.db,
      'record contact event',
      (d) =>
        d
          .insertInto('contact_events')
          .values({ id: arg(0), contact_id: arg(1), type: arg(2), at: arg(3), object_type: arg(4), object_id: arg(5), data: arg(6) })
          .onConflict((oc) => oc.column('id').doNothing()),
      [e.id, contactId, e.type, e.at, e.object?.type ?? null, e.object?.id ?? null, json(e.data ?? {})],
    );
  }

  async recentEvents(contactId: string, since: number): Promise<PastEvent[]> {
    const { rows } = await this.prepared(
      this.db,
      'recent events',
      (d) => d.selectFrom('contact_events').selectAll().where('contact_id', '=', arg(0)).where('at', '>=', arg(1)).orderBy('at'),
      [contactId, since],
    );
    return rows.map((r) => {
      const e: PastEvent = { type: r.type, at: new Date(Number(r.at)).toISOString(), data: parse(r.data) };
      if (r.object_type !== null && r.object_id !== null) e.object = { type: r.object_type, id: r.object_id };
      return e;
    });
  }

  /** Messages actually sent to the contact since `since`, for the contact-pressure budget. */
  async sentHistory(contactId: string, since: number, excludeMessageId?: string): Promise<SentRecord[]> {
    const { rows } = await this.prepared(
      this.db,
      excludeMessageId === undefined ? 'sent history' : 'sent history but one',
      (d) => {
        const q = d
          .selectFrom('messages')
          .select(['type', 'team', 'channel', 'updated_at', 'created_at'])
          .where('contact_id', '=', arg(0))
          .where('status', 'in', ['sent', 'delivered', 'read', 'undelivered', 'failed'])
          .where('created_at', '>=', arg(1));
        return excludeMessageId === undefined ? q : q.where('id', '!=', arg(2));
      },
      [contactId, since, excludeMessageId],
    );
    return rows.map((r) => {
      const s: SentRecord = { at: new Date(Number(r.created_at)).toISOString(), type: r.type as SentRecord['type'] };
      if (r.channel !== null) s.channel = r.channel;
      if (r.team !== null) s.team = r.team;
      return s;
    });
  }

  // ---------------------------------------------------------------- inbox

  /** Stores an accepted event durably; false when (source, event id) was already there. */
  async acceptInbox(
    e: { source: string; eventId: string; type: string; payload: unknown },
    now: number,
  ): Promise<{ id: string; duplicate: boolean }> {
    const row = inboxRow(e, now);
    const id = row.id;
    const inserted = await this.db
      .insertInto('inbox')
      .values(row)
      .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) return { id, duplicate: false };
    const existing = await this.db
      .selectFrom('inbox')
      .select('id')
      .where('source', '=', e.source)
      .where('event_id', '=', e.eventId)
      .executeTakeFirstOrThrow();
    return { id: existing.id, duplicate: true };
  }

  /** Many events in one statement (atomic): a CRM batch is durable as a whole before we answer. */
  async acceptInboxBatch(
    events: Array<{ source: string; eventId: string; type: string; payload: unknown }>,
    now: number,
  ): Promise<{ accepted: number; duplicates: number }> {
    const inserted = await this.insertInboxRows(events.map((e) => inboxRow(e, now)));
    return { accepted: inserted.size, duplicates: events.length - inserted.size };
  }

  /**
   * Inserts inbox rows in one statement (atomic on its own); returns the ids of the rows that
   * went in (a row whose (source, event id) was there already, or earlier in the list, does not).
   */
  async insertInboxRows(values: InboxTable[]): Promise<Set<string>> {
    if (values.length === 0) return new Set();
    // prepared per row count (≤ INBOX_ROWS_PER_STATEMENT shapes): building and compiling a
    // multi-row INSERT with Kysely cost more than SQLite's own work on the ingest path (measured)
    const insert = async (store: Store, chunk: InboxTable[]) =>
      (
        await store.prepared(
          store.db,
          `accept inbox ${chunk.length}`,
          (d) =>
            d
              .insertInto('inbox')
              .values(chunk.map((_, i) => inboxArgs(i)))
              .onConflict((oc) => oc.columns(['source', 'event_id']).doNothing())
              .returning('id'),
          chunk.flatMap((r) => INBOX_COLUMNS.map((c) => r[c])),
        )
      ).rows;
    if (values.length <= INBOX_ROWS_PER_STATEMENT) return new Set((await insert(this, values)).map((r) => r.id));
    return this.transaction(async (tx) => {
      const ids = new Set<string>();
      for (let i = 0; i < values.length; i += INBOX_ROWS_PER_STATEMENT)
        for (const r of await insert(tx, values.slice(i, i + INBOX_ROWS_PER_STATEMENT))) ids.add(r.id);
      return ids;
    });
  }

  /**
   * Whether any event waits (looked at without a write transaction: an idle worker must not take
   * SQLite's write lock just to find nothing).
   */
  async inboxHasWork(now: number): Promise<boolean> {
    const any = await this.prepared(
      this.db,
      'inbox has work',
      (d) =>
        d
          .selectFrom('inbox')
          .select('id')
          .where('processed_at', 'is', null)
          .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<', arg(0))]))
          .limit(1),
      [now],
    );
    return any.rows.length > 0;
  }

  /**
   * The next events to apply, oldest first, taken inside the caller's transaction: applied, marked
   * finished and committed together, so no lease is needed (a crash rolls the taking back with the
   * rest). PostgreSQL locks the rows it hands out and skips rows another worker's transaction
   * holds; SQLite has one writer at a time. Rows deferred after a failure wait for their time.
   */
  async takeInbox(now: number, limit: number): Promise<InboxRow[]> {
    if (!this.db.isTransaction) throw new Error('takeInbox runs inside transaction()');
    let pick = this.db
      .selectFrom('inbox')
      .select(['id', 'source', 'event_id', 'type', 'payload', 'received_at', 'attempts'])
      .where('processed_at', 'is', null)
      .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<', now)]))
      .orderBy('received_at')
      .orderBy('id')
      .limit(limit);
    if (this.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
    return (await pick.execute()).map((r) => ({
      id: r.id,
      source: r.source,
      eventId: r.event_id,
      type: r.type,
      payload: parse(r.payload),
      receivedAt: Number(r.received_at),
      attempts: r.attempts,
    }));
  }

  /** Marks a taken event applied. */
  async finishInbox(id: string, now: number): Promise<void> {
    await this.prepared(
      this.db,
      'finish inbox',
      (d) =>
        d
          .updateTable('inbox')
          .set({ processed_at: arg(0), claim_owner: null, claim_expires_at: null })
          .where('id', '=', arg(1))
          .where('processed_at', 'is', null),
      [now, id],
    );
  }

  /**
   * A failed try, counted: the row is held back until `retryAt`, or given up on (`droppedAt`: it
   * leaves the backlog with its error kept).
   */
  async inboxFailed(id: string, error: string, next: { retryAt: number } | { droppedAt: number }): Promise<void> {
    await this.db
      .updateTable('inbox')
      .set(
        'retryAt' in next
          ? { error, claim_owner: 'retry', claim_expires_at: next.retryAt, attempts: sql`attempts + 1` }
          : { error, processed_at: next.droppedAt, claim_owner: null, claim_expires_at: null, attempts: sql`attempts + 1` },
      )
      .where('id', '=', id)
      .where('processed_at', 'is', null)
      .execute();
  }

  async inboxBacklog(): Promise<number> {
    const r = await this.db
      .selectFrom('inbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('processed_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  // ---------------------------------------------------------------- timers

  /** Schedules a timer once (unique key: a second schedule is a no-op and returns null). */
  async scheduleTimer(
    t: { key: string; kind: string; ref?: string | null; dueAt: number; payload: unknown },
    now: number,
  ): Promise<TimerRow | null> {
    const id = uuidv7(now);
    const [r] = (
      await this.prepared(
        this.db,
        'schedule timer',
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
            })
            .onConflict((oc) => oc.column('key').doNothing())
            .returning('id'),
        [id, t.key, t.kind, t.ref ?? null, t.dueAt, json(t.payload), now],
      )
    ).rows;
    return r === undefined ? null : { id, key: t.key, kind: t.kind, ref: t.ref ?? null, dueAt: t.dueAt, payload: t.payload };
  }

  /**
   * Claims due timers atomically with an expiring claim (FOR UPDATE SKIP LOCKED on Postgres;
   * SQLite serialises writers). A crashed worker's claims expire and are retaken.
   */
  async claimDueTimers(owner: string, now: number, leaseMs: number, limit: number): Promise<TimerRow[]> {
    const due = await this.nextTimerDue();
    if (due === null || due > now) return [];
    const rows = await this.tx(async (trx) => {
      let pick = trx
        .selectFrom('timers')
        .select('id')
        .where('fired_at', 'is', null)
        .where('cancelled_at', 'is', null)
        .where('due_at', '<=', now)
        .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<', now)]))
        .orderBy('due_at')
        .orderBy('id')
        .limit(limit);
      if (this.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
      const ids = (await pick.execute()).map((r) => r.id);
      if (ids.length === 0) return [] as TimersTable[];
      return trx
        .updateTable('timers')
        .set({ claim_owner: owner, claim_expires_at: now + leaseMs })
        .where('id', 'in', ids)
        .where('fired_at', 'is', null)
        .where('cancelled_at', 'is', null)
        .returningAll()
        .execute();
    });
    return rows
      .sort((a, b) => Number(a.due_at) - Number(b.due_at) || (a.id < b.id ? -1 : 1))
      .map((r) => ({ id: r.id, key: r.key, kind: r.kind, ref: r.ref, dueAt: Number(r.due_at), payload: parse(r.payload) }));
  }

  /** Marks a claimed timer fired; false if the claim was lost (expired and retaken) or it was cancelled. */
  async completeTimer(id: string, owner: string, now: number): Promise<boolean> {
    const r = await this.prepared(
      this.db,
      'complete timer',
      (d) =>
        d
          .updateTable('timers')
          .set({ fired_at: arg(0) })
          .where('id', '=', arg(1))
          .where('claim_owner', '=', arg(2))
          .where('fired_at', 'is', null)
          .where('cancelled_at', 'is', null),
      [now, id, owner],
    );
    return Number(r.numAffectedRows ?? 0) === 1;
  }

  async releaseTimer(id: string, owner: string, retryAt: number): Promise<void> {
    await this.db
      .updateTable('timers')
      .set({ claim_owner: null, claim_expires_at: null, due_at: retryAt })
      .where('id', '=', id)
      .where('claim_owner', '=', owner)
      .where('fired_at', 'is', null)
      .execute();
  }

  async cancelTimersByKey(keys: readonly string[], now: number, db: Db = this.db): Promise<number> {
    if (keys.length === 0) return 0;
    const build = (d: Db, k: string[]) =>
      d
        .updateTable('timers')
        .set({ cancelled_at: arg(0) })
        .where('key', 'in', k)
        .where('fired_at', 'is', null)
        .where('cancelled_at', 'is', null);
    const args = [now, ...keys];
    const r = await this.prepared(
      db,
      `cancel timers by key ${keys.length}`,
      (d) =>
        build(
          d,
          keys.map((_, i) => arg(i + 1)),
        ),
      args,
    );
    return Number(r.numAffectedRows ?? 0);
  }

  async cancelTimersByRef(ref: string, now: number, db: Db = this.db): Promise<number> {
    const r = await db
      .updateTable('timers')
      .set({ cancelled_at: now })
      .where('ref', '=', ref)
      .where('fired_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async pendingTimers(ref?: string): Promise<TimerRow[]> {
    let q = this.db.selectFrom('timers').selectAll().where('fired_at', 'is', null).where('cancelled_at', 'is', null);
    if (ref !== undefined) q = q.where('ref', '=', ref);
    const rows = await q.orderBy('due_at').execute();
    return rows.map((r) => ({ id: r.id, key: r.key, kind: r.kind, ref: r.ref, dueAt: Number(r.due_at), payload: parse(r.payload) }));
  }

  async nextTimerDue(): Promise<number | null> {
    const r = await this.db
      .selectFrom('timers')
      .select((eb) => eb.fn.min<number>('due_at').as('due'))
      .where('fired_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .executeTakeFirst();
    return r?.due == null ? null : Number(r.due);
  }

  // ---------------------------------------------------------------- messages and attempts

  /** Creates a message, or returns the one already created with the same idempotency key. */
  async createMessage(m: Omit<MessageRow, 'createdAt' | 'updatedAt'>, now: number): Promise<{ message: MessageRow; created: boolean }> {
    // no error on a repeated key: inside a PostgreSQL transaction one would abort it
    const values = {
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
    const columns = Object.keys(values) as Array<keyof typeof values>;
    const inserted = await this.prepared(
      this.db,
      'create message',
      (d) =>
        d
          .insertInto('messages')
          .values(Object.fromEntries(columns.map((c, i) => [c, arg(i)])) as typeof values)
          .onConflict((oc) => oc.column('idempotency_key').doNothing()),
      columns.map((c) => values[c]),
    );
    if (Number(inserted.numAffectedRows ?? 0n) > 0 || m.idempotencyKey === null)
      return { message: { ...m, createdAt: now, updatedAt: now }, created: true };
    const existing = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('idempotency_key', '=', m.idempotencyKey)
      .executeTakeFirstOrThrow();
    return { message: toMessage(existing), created: false };
  }

  async getMessage(id: string): Promise<MessageRow | null> {
    const [r] = (await this.prepared(this.db, 'message', (d) => d.selectFrom('messages').selectAll().where('id', '=', arg(0)), [id])).rows;
    return r ? toMessage(r) : null;
  }

  /** Whose message it is (a receipt needs no more: the message's documents stay unread). */
  async messageContactId(id: string): Promise<string | null> {
    const [r] = (
      await this.prepared(this.db, 'message contact', (d) => d.selectFrom('messages').select('contact_id').where('id', '=', arg(0)), [id])
    ).rows;
    return r?.contact_id ?? null;
  }

  async messagesForContact(contactId: string, limit = 100): Promise<MessageRow[]> {
    const rows = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('contact_id', '=', contactId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toMessage);
  }

  async messagesForJourneyInstance(instanceId: string): Promise<MessageRow[]> {
    const rows = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('journey_instance_id', '=', instanceId)
      .orderBy('created_at')
      .execute();
    return rows.map(toMessage);
  }

  /** Moves a message between statuses only from the given ones; false if it was elsewhere. */
  async transitionMessage(
    id: string,
    from: readonly string[],
    to: string,
    now: number,
    extra: { channel?: string; cost?: number } = {},
  ): Promise<boolean> {
    const withChannel = extra.channel !== undefined;
    const withCost = extra.cost !== undefined;
    const r = await this.prepared(
      this.db,
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

  /** Claims (message, step): the claim string is the provider's idempotency key. Null if taken. */
  /**
   * Claims (message, step) once: the claim is the provider's idempotency key. With `leaseUntil`
   * the attempt carries its own lease (no timer row stands behind it): if it is still only claimed
   * then, `takeStalledAttempts` hands it to a worker to resume.
   */
  async claimAttempt(
    a: { messageId: string; step: number; channel: string; provider: string },
    now: number,
    leaseUntil: number | null = null,
  ): Promise<string | null> {
    const claim = `${a.messageId}:${a.step}`;
    const [r] = (
      await this.prepared(
        this.db,
        'claim attempt',
        (d) =>
          d
            .insertInto('attempts')
            .values({
              id: arg(0),
              message_id: arg(1),
              step: arg(2),
              channel: arg(3),
              provider: arg(4),
              claim: arg(5),
              provider_message_id: null,
              status: 'claimed',
              cost: 0,
              error: null,
              created_at: arg(6),
              updated_at: arg(6),
              lease_expires_at: arg(7),
            })
            .onConflict((oc) => oc.doNothing())
            .returning('id'),
        [uuidv7(now), a.messageId, a.step, a.channel, a.provider, claim, now, leaseUntil],
      )
    ).rows;
    return r ? claim : null;
  }

  /**
   * Leased attempts whose lease ran out while still claimed (the worker died between its commit
   * and the provider's answer, or the call failed), leased again to this caller atomically (FOR
   * UPDATE SKIP LOCKED on PostgreSQL). Looked for without a write transaction first.
   */
  async takeStalledAttempts(
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<Array<{ messageId: string; step: number; claim: string }>> {
    const any = await this.prepared(
      this.db,
      'any stalled attempt',
      (d) =>
        d.selectFrom('attempts').select('id').where('lease_expires_at', 'is not', null).where('lease_expires_at', '<', arg(0)).limit(1),
      [now],
    );
    if (any.rows.length === 0) return [];
    const rows = await this.tx(async (trx) => {
      let pick = trx
        .selectFrom('attempts')
        .select('id')
        .where('lease_expires_at', 'is not', null)
        .where('lease_expires_at', '<', now)
        .orderBy('lease_expires_at')
        .limit(limit);
      if (this.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
      const ids = (await pick.execute()).map((r) => r.id);
      if (ids.length === 0) return [];
      return trx
        .updateTable('attempts')
        .set({ lease_expires_at: now + leaseMs })
        .where('id', 'in', ids)
        .where('lease_expires_at', '<', now)
        .returning(['message_id', 'step', 'claim'])
        .execute();
    });
    return rows.map((r) => ({ messageId: r.message_id, step: r.step, claim: r.claim }));
  }

  /** Moves a leased attempt's lease (`null`: the send is settled, nothing to resume). */
  async setAttemptLease(claim: string, until: number | null): Promise<void> {
    await this.db
      .updateTable('attempts')
      .set({ lease_expires_at: until })
      .where('claim', '=', claim)
      .where('lease_expires_at', 'is not', null)
      .execute();
  }

  async getAttemptByClaim(claim: string): Promise<AttemptRow | null> {
    const r = await this.db.selectFrom('attempts').selectAll().where('claim', '=', claim).executeTakeFirst();
    return r ? toAttempt(r) : null;
  }

  async attemptsForMessage(messageId: string): Promise<AttemptRow[]> {
    const rows = await this.db.selectFrom('attempts').selectAll().where('message_id', '=', messageId).orderBy('step').execute();
    return rows.map(toAttempt);
  }

  async findAttemptByProviderId(provider: string, providerMessageId: string): Promise<AttemptRow | null> {
    const [r] = (
      await this.prepared(
        this.db,
        'attempt by provider id',
        (d) => d.selectFrom('attempts').selectAll().where('provider', '=', arg(0)).where('provider_message_id', '=', arg(1)),
        [provider, providerMessageId],
      )
    ).rows;
    return r ? toAttempt(r) : null;
  }

  async updateAttempt(
    claim: string,
    set: { status: string; providerMessageId?: string | null; cost?: number; error?: string | null },
    now: number,
    onlyFrom?: readonly string[],
  ): Promise<boolean> {
    const has = { id: set.providerMessageId !== undefined, cost: set.cost !== undefined, error: set.error !== undefined };
    const from = onlyFrom ?? [];
    const r = await this.prepared(
      this.db,
      `update attempt${has.id ? ' id' : ''}${has.cost ? ' cost' : ''}${has.error ? ' error' : ''} ${onlyFrom === undefined ? 'any' : from.length}`,
      (d) => {
        const q = d
          .updateTable('attempts')
          .set({
            status: arg(0),
            updated_at: arg(1),
            lease_expires_at: null,
            ...(has.id ? { provider_message_id: arg(2) } : {}),
            ...(has.cost ? { cost: arg(3) } : {}),
            ...(has.error ? { error: arg(4) } : {}),
          })
          .where('claim', '=', arg(5));
        return onlyFrom === undefined
          ? q
          : q.where(
              'status',
              'in',
              from.map((_, i) => arg(6 + i)),
            );
      },
      [set.status, now, set.providerMessageId, set.cost, set.error, claim, ...from],
    );
    return Number(r.numAffectedRows ?? 0) === 1;
  }

  /**
   * Logs a receipt of an attempt; false (and nothing logged) when the same receipt (status and
   * time) is logged already: a provider retrying its webhook, or a batch made again.
   */
  async addReceipt(attemptId: string, status: string, at: number, detail: unknown): Promise<boolean> {
    const seen = await this.prepared(
      this.db,
      'receipt logged',
      (d) =>
        d
          .selectFrom('receipts')
          .select('id')
          .where('attempt_id', '=', arg(0))
          .where('status', '=', arg(1))
          .where('at', '=', arg(2))
          .limit(1),
      [attemptId, status, at],
    );
    if (seen.rows.length > 0) return false;
    await this.prepared(
      this.db,
      'add receipt',
      (d) => d.insertInto('receipts').values({ id: arg(0), attempt_id: arg(1), status: arg(2), at: arg(3), detail: arg(4) }),
      [uuidv7(at), attemptId, status, at, json(detail)],
    );
    return true;
  }

  async receiptsForAttempts(attemptIds: readonly string[]): Promise<Array<{ attemptId: string; status: string; at: number }>> {
    if (attemptIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('receipts')
      .select(['attempt_id', 'status', 'at'])
      .where('attempt_id', 'in', [...attemptIds])
      .orderBy('at')
      .execute();
    return rows.map((r) => ({ attemptId: r.attempt_id, status: r.status, at: Number(r.at) }));
  }

  /** Parks a receipt whose provider id is not known yet (it raced the send). */
  async parkReceipt(provider: string, r: { providerMessageId: string; status: string; at: string }, now: number): Promise<void> {
    await this.db
      .insertInto('pending_receipts')
      .values({ provider, provider_message_id: r.providerMessageId, status: r.status, at: r.at, received_at: now })
      .onConflict((oc) => oc.columns(['provider', 'provider_message_id', 'status']).doNothing())
      .execute();
  }

  /** Takes the parked receipts of a provider id: whoever deletes a row applies it, exactly once. */
  async takeParkedReceipts(
    provider: string,
    providerMessageId: string,
  ): Promise<Array<{ providerMessageId: string; status: string; at: string }>> {
    const { rows } = await this.prepared(
      this.db,
      'take parked receipts',
      (d) => d.deleteFrom('pending_receipts').where('provider', '=', arg(0)).where('provider_message_id', '=', arg(1)).returningAll(),
      [provider, providerMessageId],
    );
    const order = ['delivered', 'read', 'undelivered', 'failed'];
    return rows
      .sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status))
      .map((r) => ({ providerMessageId: r.provider_message_id, status: r.status, at: r.at }));
  }

  /** Parked receipts whose send has been recorded since (a race the two sides both missed). */
  async parkedNowKnown(limit: number): Promise<Array<{ provider: string; providerMessageId: string }>> {
    const rows = await this.db
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
    const r = await this.db.deleteFrom('pending_receipts').where('received_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---------------------------------------------------------------- journeys

  /** Creates the active instance for (journey, key), or returns null when one is already active. */
  async createJourneyInstance(
    i: { id: string; journeyId: string; key: string; contactId: string; state: unknown },
    now: number,
  ): Promise<boolean> {
    // one active instance per (journey, key): a second start is no error (it would abort a PostgreSQL transaction)
    const r = await this.prepared(
      this.db,
      'create journey instance',
      (d) =>
        d
          .insertInto('journey_instances')
          .values({
            id: arg(0),
            journey_id: arg(1),
            key: arg(2),
            contact_id: arg(3),
            status: 'active',
            state: arg(4),
            version: 1,
            created_at: arg(5),
            updated_at: arg(5),
          })
          .onConflict((oc) => oc.columns(['journey_id', 'key']).where(sql.ref('status'), '=', sql.lit('active')).doNothing()),
      [i.id, i.journeyId, i.key, i.contactId, json(i.state), now],
    );
    return Number(r.numAffectedRows ?? 0n) > 0;
  }

  async getJourneyInstance(id: string): Promise<{ state: unknown; version: number; status: string } | null> {
    const r = await this.db.selectFrom('journey_instances').select(['state', 'version', 'status']).where('id', '=', id).executeTakeFirst();
    return r ? { state: parse(r.state), version: r.version, status: r.status } : null;
  }

  /** Optimistic save: false when another worker moved the instance first. */
  async saveJourneyInstance(id: string, expectedVersion: number, status: string, state: unknown, now: number): Promise<boolean> {
    const r = await this.prepared(
      this.db,
      'save journey instance',
      (d) =>
        d
          .updateTable('journey_instances')
          .set({ state: arg(0), status: arg(1), version: arg(2), updated_at: arg(3) })
          .where('id', '=', arg(4))
          .where('version', '=', arg(5)),
      [json(state), status, expectedVersion + 1, now, id, expectedVersion],
    );
    return Number(r.numAffectedRows ?? 0) === 1;
  }

  async activeInstancesFor(filter: {
    contactId?: string;
    key?: string;
  }): Promise<Array<{ id: string; journeyId: string; key: string; version: number; state: unknown }>> {
    const { rows } = await this.prepared(
      this.db,
      `active instances${filter.contactId !== undefined ? ' contact' : ''}${filter.key !== undefined ? ' key' : ''}`,
      (d) => {
        let q = d.selectFrom('journey_instances').selectAll().where('status', '=', 'active');
        if (filter.contactId !== undefined) q = q.where('contact_id', '=', arg(0));
        if (filter.key !== undefined) q = q.where('key', '=', arg(1));
        return q.orderBy('created_at');
      },
      [filter.contactId, filter.key],
    );
    return rows.map((r) => ({ id: r.id, journeyId: r.journey_id, key: r.key, version: r.version, state: parse(r.state) }));
  }

  async instancesForContact(contactId: string): Promise<Array<{ id: string; journeyId: string; status: string; state: unknown }>> {
    const rows = await this.db
      .selectFrom('journey_instances')
      .selectAll()
      .where('contact_id', '=', contactId)
      .orderBy('created_at', 'desc')
      .limit(50)
      .execute();
    return rows.map((r) => ({ id: r.id, journeyId: r.journey_id, status: r.status, state: parse(r.state) }));
  }

  // ---------------------------------------------------------------- idempotency, audit, reports

  async getIdempotent(scope: string, key: string): Promise<{ requestHash: string; status: number; response: unknown } | null> {
    const r = await this.db.selectFrom('idempotency').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
    return r ? { requestHash: r.request_hash, status: r.status, response: parse(r.response) } : null;
  }

  async putIdempotent(scope: string, key: string, requestHash: string, status: number, response: unknown, now: number): Promise<boolean> {
    const r = await this.db
      .insertInto('idempotency')
      .values({ scope, key, request_hash: requestHash, status, response: json(response), created_at: now })
      .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    return r !== undefined;
  }

  async audit(actor: string, action: string, subject: string, detail: unknown, now: number): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({ id: uuidv7(now), at: now, actor, action, subject, detail: json(detail) })
      .execute();
  }

  /** Messages and their cost in [from, to), by channel, team, journey, message type and outcome. */
  async inventory(
    from: number,
    to: number,
  ): Promise<
    Array<{
      channel: string | null;
      team: string | null;
      journey: string | null;
      type: string;
      status: string;
      messages: number;
      cost: number;
    }>
  > {
    const rows = await this.db
      .selectFrom('messages')
      .select((eb) => [
        'channel',
        'team',
        'journey_id',
        'type',
        'status',
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>('cost').as('cost'),
      ])
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .groupBy(['channel', 'team', 'journey_id', 'type', 'status'])
      .orderBy('channel')
      .orderBy('team')
      .orderBy('journey_id')
      .orderBy('type')
      .orderBy('status')
      .execute();
    return rows.map((r) => ({
      channel: r.channel,
      team: r.team,
      journey: r.journey_id,
      type: r.type,
      status: r.status,
      messages: Number(r.n),
      cost: Math.round(Number(r.cost ?? 0) * 1e6) / 1e6,
    }));
  }

  // ---------------------------------------------------------------- sandbox provider's own record

  /**
   * The sandbox provider's send log: one row per idempotency claim, whatever the retries. Several
   * sends in one write (the sandbox coalesces concurrent calls); per send, in order, its provider
   * id and whether the claim had been sent before (then only its call count goes up).
   */
  /** The sandbox provider's send log; `at` is when each call was made (the write may come later). */
  async recordSandboxSends(
    list: ReadonlyArray<{ claim: string; providerMessageId: string; channel: string; address: string; content: string; at: number }>,
  ): Promise<Array<{ providerMessageId: string; duplicate: boolean }>> {
    const inserted = await this.db
      .insertInto('sandbox_sends')
      .values(
        list.map((s) => ({
          claim: s.claim,
          provider_message_id: s.providerMessageId,
          channel: s.channel,
          address: s.address,
          content: s.content,
          at: s.at,
          calls: 1,
        })),
      )
      .onConflict((oc) => oc.column('claim').doNothing())
      .returning(['claim', 'provider_message_id'])
      .execute();
    const fresh = new Map(inserted.map((r) => [r.claim, r.provider_message_id]));
    if (fresh.size === list.length) return list.map((s) => ({ providerMessageId: fresh.get(s.claim) as string, duplicate: false }));
    // a claim sent before (or twice in this batch): one more call on the row already there
    return this.tx(async (trx) => {
      const out: Array<{ providerMessageId: string; duplicate: boolean }> = [];
      for (const s of list) {
        const id = fresh.get(s.claim);
        if (id !== undefined) {
          fresh.delete(s.claim);
          out.push({ providerMessageId: id, duplicate: false });
          continue;
        }
        await trx.updateTable('sandbox_sends').set({ calls: sql`calls + 1` }).where('claim', '=', s.claim).execute();
        const existing = await trx
          .selectFrom('sandbox_sends')
          .select('provider_message_id')
          .where('claim', '=', s.claim)
          .executeTakeFirstOrThrow();
        out.push({ providerMessageId: existing.provider_message_id, duplicate: true });
      }
      return out;
    });
  }

  async sandboxSends(
    channel?: string,
  ): Promise<Array<{ claim: string; channel: string; address: string; content: string; at: number; calls: number }>> {
    let q = this.db.selectFrom('sandbox_sends').selectAll();
    if (channel !== undefined) q = q.where('channel', '=', channel);
    const rows = await q.orderBy('at').orderBy('claim').execute();
    return rows.map((r) => ({
      claim: r.claim,
      channel: r.channel,
      address: r.address,
      content: r.content,
      at: Number(r.at),
      calls: r.calls,
    }));
  }
}

/** Rows per prepared inbox INSERT (so at most this many statement shapes). */
const INBOX_ROWS_PER_STATEMENT = 32;

const INBOX_COLUMNS = [
  'id',
  'source',
  'event_id',
  'type',
  'payload',
  'received_at',
  'processed_at',
  'claim_owner',
  'claim_expires_at',
  'attempts',
  'error',
] as const satisfies ReadonlyArray<keyof InboxTable>;

/** An inbox row of arguments (row `i` of a prepared multi-row insert). */
function inboxArgs(i: number): InboxTable {
  return Object.fromEntries(INBOX_COLUMNS.map((c, k) => [c, arg(i * INBOX_COLUMNS.length + k)])) as unknown as InboxTable;
}

export function inboxRow(e: { source: string; eventId: string; type: string; payload: unknown }, now: number): InboxTable {
  return {
    id: uuidv7(now),
    source: e.source,
    event_id: e.eventId,
    type: e.type,
    payload: json(e.payload),
    received_at: now,
    processed_at: null,
    claim_owner: null,
    claim_expires_at: null,
    attempts: 0,
    error: null,
  };
}

function toAttempt(r: Database['attempts']): AttemptRow {
  return {
    id: r.id,
    messageId: r.message_id,
    step: r.step,
    channel: r.channel,
    provider: r.provider,
    claim: r.claim,
    providerMessageId: r.provider_message_id,
    status: r.status,
    cost: Number(r.cost),
    error: r.error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** The stored part of a contact: everything but identities (those live in their own table). */
function contactData(base: Contact, input: Omit<ContactInput, 'id'> & { id?: string }): Contact {
  const next: Contact = { ...base, identities: [] };
  if (input.timezone !== undefined) next.timezone = input.timezone;
  if (input.market !== undefined) next.market = input.market;
  if (input.locale !== undefined) next.locale = input.locale;
  if (input.smartphone !== undefined) next.smartphone = input.smartphone;
  if (input.vulnerable !== undefined) next.vulnerable = input.vulnerable;
  next.capabilities = { ...(base.capabilities ?? {}), ...(input.capabilities ?? {}) };
  next.lastInbound = { ...(base.lastInbound ?? {}), ...(input.lastInbound ?? {}) };
  next.preferences = { ...(base.preferences ?? {}), ...(input.preferences ?? {}) };
  next.engagement = { ...(base.engagement ?? {}) } as Contact['engagement'];
  next.tags = [...new Set([...(base.tags ?? []), ...(input.tags ?? [])])];
  next.attributes = { ...(base.attributes ?? {}), ...(input.attributes ?? {}) };
  if (input.readHours !== undefined) next.readHours = input.readHours;
  return next;
}

function mergeData(a: Contact, b: Contact): Contact {
  const engagement: Contact['engagement'] = { ...a.engagement };
  for (const [ch, e] of Object.entries(b.engagement ?? {})) {
    const x = engagement[ch];
    engagement[ch] = x
      ? { sent: x.sent + e.sent, delivered: x.delivered + e.delivered, read: x.read + e.read, replied: x.replied + e.replied }
      : e;
  }
  const merged: Contact = {
    ...b,
    ...a,
    capabilities: { ...b.capabilities, ...a.capabilities },
    lastInbound: { ...b.lastInbound, ...a.lastInbound },
    preferences: { ...b.preferences, ...a.preferences },
    attributes: { ...b.attributes, ...a.attributes },
    tags: [...new Set([...(a.tags ?? []), ...(b.tags ?? [])])],
    engagement,
  };
  const hours = a.readHours ?? b.readHours;
  if (a.readHours && b.readHours) merged.readHours = a.readHours.map((h, i) => h + (b.readHours?.[i] ?? 0));
  else if (hours) merged.readHours = hours;
  return merged;
}

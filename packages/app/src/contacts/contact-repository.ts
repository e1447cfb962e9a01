import type { ConsentRecord, Contact, Identity, IdentityKind } from '@signalbox/engine';
import { sql } from 'kysely';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import { inTransaction } from '../db/transaction.js';
import { uuidv7 } from '../ids.js';
import { applyFields, type ContactFields, emptyContact, mergeContacts } from './contact-data.js';
import { readContact, type StoredContact } from './contact-record.js';
import { type ContactFilter, type ContactSummary, searchContacts } from './contact-search.js';
import { CRM_KINDS, normalizeIdentity, SINGULAR_KINDS } from './identity.js';

export type { StoredContact, UnreachableIdentity } from './contact-record.js';
export type { ContactFilter, ContactSummary } from './contact-search.js';

/** A contact to create or update: any of its identities finds it; `id` names one explicitly. */
export type ContactUpsert = ContactFields & { id?: string; identities: Identity[] };

export interface UpsertResult {
  contact: StoredContact;
  created: boolean;
  /** Contacts merged into this one (they shared an identity). */
  merged: string[];
  /** Identities claimed by another contact that conflicts with this one: recorded, not overwritten. */
  conflicts: Array<{ kind: string; value: string; otherContactId: string }>;
}

export interface IdentityConflict {
  kind: string;
  value: string;
  otherContactId: string;
  detail: string;
  at: string;
}

/**
 * Contacts and their identities: one person across phone, email and CRM ids. Records that turn
 * out to share an identity merge into the oldest; a record that shares a phone or email with a
 * contact carrying a different CRM id or email is a different person (a conflict is recorded).
 */
export class ContactRepository {
  constructor(private readonly c: Conn) {}

  /** Creates or updates a contact found by any of its identities (one transaction). */
  async upsert(input: ContactUpsert, now: number): Promise<UpsertResult> {
    const identities = input.identities.map((i, k) => ({
      kind: i.kind,
      value: normalizeIdentity(i.kind, i.value, `/identities/${k}/value`),
    }));
    return inTransaction(this.c, async (tx) => {
      const trx = tx.db;
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
            data: json(applyFields(emptyContact(survivor), input)),
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
        let data = parseJson<Contact>(first.data);
        for (const loser of rows.slice(1)) {
          data = mergeContacts(data, parseJson<Contact>(loser.data));
          await this.moveContact(tx, loser.id, survivor, now);
        }
        data = applyFields(data, input);
        await trx
          .updateTable('contacts')
          .set({ data: json(data), updated_at: now, version: sql`version + 1` })
          .where('id', '=', survivor)
          .execute();
      }
      for (const id of identities) {
        if (contested.has(`${id.kind}:${id.value}`)) continue;
        await this.claimIdentity(tx, survivor, id.kind, id.value, now);
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
      const contact = await readContact(tx, survivor);
      if (contact === null) throw new Error('contact vanished');
      return { contact, created, merged: same.filter((s) => s !== survivor), conflicts };
    });
  }

  private async claimIdentity(tx: Conn, contactId: string, kind: string, value: string, now: number): Promise<void> {
    const trx = tx.db;
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

  /** A merged record's whole history moves to the survivor: identities, consent, events, messages, journeys. */
  private async moveContact(tx: Conn, from: string, to: string, now: number): Promise<void> {
    const trx = tx.db;
    await trx.updateTable('identities').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('consent_ledger').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('contact_events').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('messages').set({ contact_id: to }).where('contact_id', '=', from).execute();
    await trx.updateTable('journey_instances').set({ contact_id: to }).where('contact_id', '=', from).execute();
    // pending timers only: the index holds only those
    await trx
      .updateTable('timers')
      .set({ contact_id: to })
      .where('contact_id', '=', from)
      .where('fired_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .execute();
    await trx.updateTable('contacts').set({ merged_into: to, updated_at: now }).where('id', '=', from).execute();
    // a contact this transaction locked and remembered as current is now merged
    if (this.mergedInto.has(from)) this.mergedInto.set(from, to);
  }

  /**
   * Contacts known to be new (a first import, a seed), written in bulk: no matching, no merging,
   * multi-row INSERTs in one transaction. An identity another contact already has is left with
   * that contact and counted in `identitiesSkipped`; `upsert` is the way for anything else.
   */
  async insertMany(
    rows: ReadonlyArray<{ id: string; contact: ContactFields; identities: Identity[]; consent?: ConsentRecord[] }>,
    now: number,
  ): Promise<{ inserted: number; identitiesSkipped: number }> {
    const CHUNK = 400;
    return inTransaction(this.c, async (tx) => {
      let skipped = 0;
      for (let i = 0; i < rows.length; i += CHUNK) {
        const part = rows.slice(i, i + CHUNK);
        await tx.db
          .insertInto('contacts')
          .values(
            part.map((r) => ({
              id: r.id,
              data: json(applyFields(emptyContact(r.id), r.contact)),
              merged_into: null,
              version: 0,
              created_at: now,
              updated_at: now,
            })),
          )
          .execute();
        const ids = part.flatMap((r) =>
          r.identities.map((x, k) => ({
            kind: x.kind,
            value: normalizeIdentity(x.kind, x.value, `/${k}/value`),
            contact_id: r.id,
            created_at: now,
          })),
        );
        for (let j = 0; j < ids.length; j += CHUNK) {
          const res = await tx.db
            .insertInto('identities')
            .values(ids.slice(j, j + CHUNK))
            .onConflict((oc) => oc.columns(['kind', 'value']).doNothing())
            .executeTakeFirst();
          skipped += Math.min(CHUNK, ids.length - j) - Number(res.numInsertedOrUpdatedRows ?? 0n);
        }
        const consent = part.flatMap((r) =>
          (r.consent ?? []).map((x) => ({
            id: uuidv7(now),
            contact_id: r.id,
            channel: x.channel,
            purpose: x.purpose,
            status: x.status,
            source: x.source,
            legal_basis: x.legalBasis ?? null,
            evidence: x.evidence ?? null,
            at: Date.parse(x.at),
            recorded_at: now,
          })),
        );
        for (let j = 0; j < consent.length; j += CHUNK)
          await tx.db
            .insertInto('consent_ledger')
            .values(consent.slice(j, j + CHUNK))
            .execute();
      }
      return { inserted: rows.length, identitiesSkipped: skipped };
    });
  }

  /**
   * Which of these identities some contact already has, as `kind:value` (normalised as stored);
   * an identity that does not normalise is left out. One indexed lookup per 300 (the primary key).
   */
  async knownIdentities(ids: readonly Identity[]): Promise<Set<string>> {
    const wanted: Array<{ kind: string; value: string }> = [];
    for (const i of ids) {
      try {
        wanted.push({ kind: i.kind, value: normalizeIdentity(i.kind, i.value) });
      } catch {
        // not an identity we would store
      }
    }
    const known = new Set<string>();
    const CHUNK = 300;
    for (let k = 0; k < wanted.length; k += CHUNK) {
      const part = wanted.slice(k, k + CHUNK);
      const rows = await this.c.db
        .selectFrom('identities')
        .select(['kind', 'value'])
        .where((eb) =>
          eb(
            eb.refTuple('kind', 'value'),
            'in',
            part.map((w) => eb.tuple(w.kind, w.value)),
          ),
        )
        .execute();
      for (const r of rows) known.add(`${r.kind}:${r.value}`);
    }
    return known;
  }

  /** Contacts in id order, filtered and paged (see `searchContacts`). */
  search(f: ContactFilter, limit: number, after?: string): Promise<ContactSummary[]> {
    return searchContacts(this.c, f, limit, after);
  }

  /** A contact by id (following merges), or null. */
  get(id: string): Promise<StoredContact | null> {
    return readContact(this.c, id);
  }

  /** The id a contact id stands for now (following merges), or null: existence without the record. */
  async currentId(id: string): Promise<string | null> {
    const [row] = (
      await prepared(this.c, 'contact id', (d) => d.selectFrom('contacts').select(['id', 'merged_into']).where('id', '=', arg(0)), [id])
    ).rows;
    if (row === undefined) return null;
    return row.merged_into === null ? row.id : this.currentId(row.merged_into);
  }

  /**
   * `currentId` that also locks the contact it finds (PostgreSQL; see `lock`), in one statement
   * per link of the merge chain: an event naming its contact resolves and locks it at once.
   */
  async lockCurrent(id: string): Promise<string | null> {
    if (this.c.dialect !== 'postgres') return this.currentId(id);
    // locked already in this transaction (lockMany): what it was merged into is known (a merge
    // made since, in this transaction, updated it: moveContact)
    const known = this.mergedInto.get(id);
    if (known !== undefined) return known === null ? id : this.lockCurrent(known);
    const [row] = (
      await prepared(
        this.c,
        'contact id, locked',
        (d) => d.selectFrom('contacts').select(['id', 'merged_into']).where('id', '=', arg(0)).forUpdate(),
        [id],
      )
    ).rows;
    if (row === undefined) return null;
    if (this.c.db.isTransaction) {
      this.locked.add(row.id);
      this.mergedInto.set(row.id, row.merged_into);
    }
    return row.merged_into === null ? row.id : this.lockCurrent(row.merged_into);
  }

  /**
   * Locks several contacts at once (PostgreSQL; nothing on SQLite), in id order, the way a unit
   * of work about to apply their events would one by one: `lockCurrent` and `lock` then take no
   * statement for them. Returns what each found contact was merged into (null: it is current).
   */
  async lockMany(ids: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    // outside a transaction a lock would end with its statement: nothing to lock, nothing to remember
    if (this.c.dialect !== 'postgres' || !this.c.db.isTransaction) return out;
    const wanted = [...new Set(ids)].filter((id) => !this.mergedInto.has(id)).sort();
    if (wanted.length > 0) {
      const { rows } = await prepared<{ id: string; merged_into: string | null }>(
        this.c,
        'contact ids, locked, many',
        (d) => ({
          compile: () =>
            sql<{ id: string; merged_into: string | null }>`select id, merged_into from contacts
              where id = any(${arg(0)}::text[]) order by id for update`.compile(d),
        }),
        [wanted],
      );
      for (const r of rows) {
        this.locked.add(r.id);
        this.mergedInto.set(r.id, r.merged_into);
      }
    }
    for (const id of ids) {
      const m = this.mergedInto.get(id);
      if (m !== undefined) out.set(id, m);
    }
    return out;
  }

  /**
   * Locks the contact's row until the transaction ends (PostgreSQL; SQLite has one writer): every
   * decision about one contact sees the one before it.
   */
  async lock(id: string): Promise<void> {
    if (this.c.dialect !== 'postgres' || this.locked.has(id)) return;
    await prepared(this.c, 'lock contact', (d) => d.selectFrom('contacts').select('id').where('id', '=', arg(0)).forUpdate(), [id]);
    if (this.c.db.isTransaction) this.locked.add(id);
  }

  /**
   * Contacts this transaction has locked (a repository on a transaction lives as long as it): each
   * is locked once, not again for every request of the unit. A rollback to a savepoint releases
   * the locks taken after it, so `forgetLocks` runs then.
   */
  private readonly locked = new Set<string>();
  /** Of the contacts locked by `lockCurrent` or `lockMany`: what each was merged into then (null: current). */
  private readonly mergedInto = new Map<string, string | null>();

  forgetLocks(): void {
    this.locked.clear();
    this.mergedInto.clear();
  }

  async findByIdentity(kind: IdentityKind, value: string): Promise<StoredContact | null> {
    let v: string;
    try {
      v = normalizeIdentity(kind, value);
    } catch {
      return null;
    }
    const row = await this.c.db
      .selectFrom('identities')
      .select('contact_id')
      .where('kind', '=', kind)
      .where('value', '=', v)
      .executeTakeFirst();
    return row ? readContact(this.c, row.contact_id) : null;
  }

  /**
   * A provider said this address does not exist: it keeps finding its contact, but decisions no
   * longer see it as an address. Once (the first reason stays). Returns whether it changed.
   */
  async markUnreachable(kind: IdentityKind, value: string, reason: string, now: number): Promise<boolean> {
    const r = await this.c.db
      .updateTable('identities')
      .set({ unreachable_at: now, unreachable_reason: reason.slice(0, 500) })
      .where('kind', '=', kind)
      .where('value', '=', value)
      .where('unreachable_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The value of one kind of identity a contact has (its HubSpot id, its email), if any. */
  async identityOf(contactId: string, kind: IdentityKind): Promise<string | null> {
    const row = await this.c.db
      .selectFrom('identities')
      .select('value')
      .where('contact_id', '=', contactId)
      .where('kind', '=', kind)
      .orderBy('value')
      .executeTakeFirst();
    return row?.value ?? null;
  }

  async conflicts(contactId: string): Promise<IdentityConflict[]> {
    const rows = await this.c.db
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
  async updateData(id: string, now: number, change: (c: Contact) => Contact): Promise<void> {
    await inTransaction(this.c, async (tx) => {
      const [row] = (
        await prepared(
          tx,
          'contact data for update',
          (d) => {
            const q = d.selectFrom('contacts').select(['data', 'merged_into']).where('id', '=', arg(0));
            // concurrent receipts update the same contact: lock the row (SQLite serialises writers already)
            return tx.dialect === 'postgres' ? q.forUpdate() : q;
          },
          [id],
        )
      ).rows;
      if (row === undefined || row.merged_into !== null) return;
      const next = change(parseJson<Contact>(row.data));
      await prepared(
        tx,
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

  /**
   * `updateData` for several contacts in one transaction (a batch of receipts); `change` gets each
   * contact's id. On PostgreSQL they are read and locked in one statement, in id order (two
   * batches never wait on each other crosswise for their contacts), and written in one.
   */
  async updateDataMany(ids: readonly string[], now: number, change: (id: string, c: Contact) => Contact): Promise<void> {
    const sorted = [...new Set(ids)].sort();
    if (sorted.length === 0) return;
    if (this.c.dialect !== 'postgres') {
      for (const id of sorted) await this.updateData(id, now, (c) => change(id, c));
      return;
    }
    await inTransaction(this.c, async (tx) => {
      const { rows } = await prepared<{ id: string; data: string }>(
        tx,
        'contacts data for update, many',
        (d) => ({
          compile: () =>
            sql<{ id: string; data: string }>`select id, data from contacts
              where id = any(${arg(0)}::text[]) and merged_into is null order by id for update`.compile(d),
        }),
        [sorted],
      );
      if (rows.length === 0) return;
      await prepared(
        tx,
        'contacts data update, many',
        (d) => ({
          compile: () =>
            sql`update contacts set data = v.data, updated_at = ${arg(0)}, version = version + 1
              from unnest(${arg(1)}::text[], ${arg(2)}::text[]) as v(id, data) where contacts.id = v.id`.compile(d),
        }),
        [now, rows.map((r) => r.id), rows.map((r) => json(change(r.id, parseJson<Contact>(r.data))))],
      );
    });
  }
}

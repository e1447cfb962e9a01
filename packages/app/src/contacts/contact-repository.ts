import type { ConsentRecord, Contact, Identity, IdentityKind } from '@signalbox/engine';
import { sql } from 'kysely';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, oneOf, prepared } from '../db/prepared.js';
import { inTransaction } from '../db/transaction.js';
import { uuidv7 } from '../ids.js';
import { applyFields, type ContactFields, emptyContact, mergeContacts } from './contact-data.js';
import { updateData, updateDataMany } from './contact-data-writes.js';
import { ContactLocks, lockIdentities } from './contact-locks.js';
import { readContact, type StoredContact } from './contact-record.js';
import { type ContactFilter, type ContactSummary, searchContacts } from './contact-search.js';
import { CRM_KINDS, canonicalIdentity, IdentityConflictError, IdentityError, normalizeIdentity, SINGULAR_KINDS } from './identity.js';
import {
  findByIdentity,
  type IdentityConflict,
  identityConflicts,
  identityOf,
  knownIdentities,
  markReachable,
  markUnreachable,
} from './identity-reads.js';
import { withMarket } from './markets.js';

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

export type { IdentityConflict } from './identity-reads.js';

/**
 * Contacts and their identities: one person across phone, email and CRM ids. Records that turn
 * out to share an identity merge into the oldest; a record that shares a phone or email with a
 * contact carrying a different CRM id or email is a different person (a conflict is recorded).
 */
export class ContactRepository {
  /** The contacts this repository's transaction has locked. */
  private readonly locks: ContactLocks;

  constructor(private readonly c: Conn) {
    this.locks = new ContactLocks(c, (id) => this.currentId(id));
  }

  /**
   * Creates or updates a contact found by any of its identities (one transaction). `asOf`: when
   * what it says of the contact's fields was true (an event's `occurredAt`; now by default, never
   * later): a word older than the one the fields were last written from leaves them as they are
   * (an event arriving late does not set back a time zone a newer one gave); its identities are
   * taken all the same.
   */
  async upsert(
    input: ContactUpsert,
    now: number,
    asOf: number = now,
    /**
     * A request answered now refuses (409 IDENTITY_CONFLICT, nothing stored) what would otherwise
     * be a new contact with no identity of its own: every one it names belongs to another contact
     * that conflicts with it. An event already accepted keeps it (recorded as conflicts).
     */
    o: { refuseUnfindable?: boolean } = {},
  ): Promise<UpsertResult> {
    const said = Math.min(asOf, now);
    // only a word on some field is a word on the fields (identities alone say nothing of them)
    const { id: _id, identities: _identities, ...fields } = input;
    const saysFields = Object.values(fields).some((v) => v !== undefined);
    // an identity we would not take now (an email from before the address check) is taken only
    // where it is stored already: the contact it names keeps being found by it
    const refused = new Map<string, IdentityError>();
    const identities = input.identities.map((i, k) => {
      const path = `/identities/${k}/value`;
      const value = canonicalIdentity(i.kind, i.value, path);
      try {
        normalizeIdentity(i.kind, i.value, path);
      } catch (e) {
        if (!(e instanceof IdentityError)) throw e;
        if (!refused.has(`${i.kind}:${value}`)) refused.set(`${i.kind}:${value}`, e);
      }
      return { kind: i.kind, value };
    });
    return inTransaction(this.c, async (tx) => {
      const trx = tx.db;
      const lookUp = async () => {
        const found = new Map<string, Array<{ kind: string; value: string }>>();
        let unknown = false;
        for (const id of identities) {
          const row = await trx
            .selectFrom('identities')
            .select('contact_id')
            .where('kind', '=', id.kind)
            .where('value', '=', id.value)
            .executeTakeFirst();
          if (row) found.set(row.contact_id, [...(found.get(row.contact_id) ?? []), id]);
          else {
            const error = refused.get(`${id.kind}:${id.value}`);
            if (error !== undefined) throw error;
            unknown = true;
          }
        }
        return { found, unknown };
      };
      let { found: matches, unknown } = await lookUp();
      // an identity nobody has yet may be claimed by another request right now: lock, look again
      if (unknown && (await lockIdentities(tx, identities))) ({ found: matches } = await lookUp());
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
        // a kind of which they hold another value and not this one (a merged contact may hold two
        // emails: either of them is its own)
        const clash =
          !viaCrm &&
          identities.some(
            (mine) =>
              SINGULAR_KINDS.has(mine.kind) &&
              theirs.some((t) => t.kind === mine.kind && t.value !== mine.value) &&
              !theirs.some((t) => t.kind === mine.kind && t.value === mine.value),
          );
        if (clash && input.id !== contactId) {
          for (const v of via) conflicts.push({ kind: v.kind, value: v.value, otherContactId: contactId });
        } else same.push(contactId);
      }
      const contested = new Set(conflicts.map((c) => `${c.kind}:${c.value}`));
      if (o.refuseUnfindable && same.length === 0 && input.id === undefined && identities.length > 0) {
        const owner = new Map(conflicts.map((c) => [`${c.kind}:${c.value}`, c.otherContactId]));
        if (identities.every((i) => owner.has(`${i.kind}:${i.value}`)))
          throw new IdentityConflictError(
            identities.map((i, k) => ({ path: `/identities/${k}/value`, otherContactId: owner.get(`${i.kind}:${i.value}`) as string })),
          );
      }
      let survivor: string;
      let created = false;
      if (same.length === 0) {
        survivor = input.id ?? uuidv7(now);
        created = true;
        await trx
          .insertInto('contacts')
          .values({
            id: survivor,
            data: json(withMarket(applyFields(emptyContact(survivor), input), identities)),
            merged_into: null,
            version: 0,
            created_at: now,
            updated_at: now,
            fields_at: saysFields ? said : null,
          })
          .execute();
      } else {
        // read, changed and written back: held (locked in id order, as every lock on contacts is
        // taken) so that a write at the same time neither is lost nor sets the fields' time back;
        // the oldest first
        const read = trx.selectFrom('contacts').selectAll().where('id', 'in', same).orderBy('id');
        const rows = (await (tx.dialect === 'postgres' ? read.forUpdate() : read).execute()).sort(
          (a, b) => Number(a.created_at) - Number(b.created_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        );
        const first = rows[0];
        if (first === undefined) throw new Error('matched contact vanished');
        survivor = first.id;
        let data = parseJson<Contact>(first.data);
        for (const loser of rows.slice(1)) {
          data = mergeContacts(data, parseJson<Contact>(loser.data));
          await this.moveContact(tx, loser.id, survivor, now);
        }
        // the survivor's word on the fields: its fields win a merge's conflicts (the oldest record's)
        const before = first.fields_at === null ? Number.NEGATIVE_INFINITY : Number(first.fields_at);
        const newer = saysFields && said >= before;
        data = withMarket(applyFields(data, newer ? input : {}), identities);
        await trx
          .updateTable('contacts')
          .set({
            data: json(data),
            updated_at: now,
            version: sql`version + 1`,
            ...(newer ? { fields_at: said } : Number.isFinite(before) ? { fields_at: before } : {}),
          })
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
    this.locks.merged(from, to);
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
              data: json(withMarket(applyFields(emptyContact(r.id), r.contact), r.identities)),
              merged_into: null,
              version: 0,
              created_at: now,
              updated_at: now,
              fields_at: now,
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
            at: Math.min(Date.parse(x.at), now), // never later than recorded (see ConsentLedger.append)
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

  /** See `knownIdentities` in identity-reads.ts. */
  knownIdentities(ids: readonly Identity[]): Promise<Set<string>> {
    return knownIdentities(this.c, ids);
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
   * Which of these contact ids are stored (current or merged into another: an event naming a
   * merged contact is applied to the one it was merged into). PostgreSQL: one statement (the ids
   * bound as one array); SQLite: one per 100 ids (a statement text per list length).
   */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const unique = [...new Set(ids)];
    const chunk = this.c.dialect === 'postgres' ? 1000 : 100;
    for (let k = 0; k < unique.length; k += chunk) {
      const list = oneOf(this.c, unique.slice(k, k + chunk), 0);
      const { rows } = await prepared(
        this.c,
        `contact ids stored ${list.key}`,
        (d) => d.selectFrom('contacts').select('id').where(list.on('id')),
        list.args,
      );
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  /** See `ContactLocks.lockCurrent`. */
  lockCurrent(id: string): Promise<string | null> {
    return this.locks.lockCurrent(id);
  }

  /** See `ContactLocks.lockMany`. */
  lockMany(ids: readonly string[]): Promise<Map<string, string | null>> {
    return this.locks.lockMany(ids);
  }

  /** See `ContactLocks.lock`. */
  lock(id: string): Promise<void> {
    return this.locks.lock(id);
  }

  /** A rollback to a savepoint released the locks taken after it (see `ContactLocks`). */
  forgetLocks(): void {
    this.locks.forget();
  }

  findByIdentity(kind: IdentityKind, value: string): Promise<StoredContact | null> {
    return findByIdentity(this.c, kind, value);
  }

  /** See `markReachable` in identity-reads.ts. */
  markReachable(kind: IdentityKind, value: string): Promise<boolean> {
    return markReachable(this.c, kind, value);
  }

  /** See `markUnreachable` in identity-reads.ts. */
  markUnreachable(kind: IdentityKind, value: string, reason: string, now: number): Promise<boolean> {
    return markUnreachable(this.c, kind, value, reason, now);
  }

  /** The value of one kind of identity a contact has (its HubSpot id, its email), if any. */
  identityOf(contactId: string, kind: IdentityKind): Promise<string | null> {
    return identityOf(this.c, contactId, kind);
  }

  conflicts(contactId: string): Promise<IdentityConflict[]> {
    return identityConflicts(this.c, contactId);
  }

  /** Read-modify-write of a contact's data in one transaction (engagement, last inbound). */
  updateData(id: string, now: number, change: (c: Contact) => Contact): Promise<void> {
    return updateData(this.c, id, now, change);
  }

  /** See `updateDataMany` in contact-data-writes.ts (a batch of receipts). */
  updateDataMany(ids: readonly string[], now: number, change: (id: string, c: Contact) => Contact): Promise<void> {
    return updateDataMany(this.c, ids, now, change);
  }
}

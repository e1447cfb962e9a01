import type { Identity, IdentityKind } from '@signalbox/engine';
import type { Conn } from '../db/connection.js';
import { readContact, type StoredContact } from './contact-record.js';
import { canonicalIdentity } from './identity.js';

/** Reads (and the one mark) of contacts' identities: which are known, whose they are, their conflicts. */

export interface IdentityConflict {
  kind: string;
  value: string;
  otherContactId: string;
  detail: string;
  at: string;
}

/**
 * Which of these identities some contact already has, as `kind:value` (normalised as stored);
 * an identity that does not normalise is left out. One indexed lookup per 300 (the primary key).
 */
export async function knownIdentities(c: Conn, ids: readonly Identity[]): Promise<Set<string>> {
  const wanted: Array<{ kind: string; value: string }> = [];
  for (const i of ids) {
    try {
      wanted.push({ kind: i.kind, value: canonicalIdentity(i.kind, i.value) });
    } catch {
      // not an identity we would store
    }
  }
  const known = new Set<string>();
  const CHUNK = 300;
  for (let k = 0; k < wanted.length; k += CHUNK) {
    const part = wanted.slice(k, k + CHUNK);
    const rows = await c.db
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

export async function findByIdentity(c: Conn, kind: IdentityKind, value: string): Promise<StoredContact | null> {
  let v: string;
  try {
    v = canonicalIdentity(kind, value);
  } catch {
    return null;
  }
  const row = await c.db.selectFrom('identities').select('contact_id').where('kind', '=', kind).where('value', '=', v).executeTakeFirst();
  return row ? readContact(c, row.contact_id) : null;
}

/**
 * A provider said this address does not exist: it keeps finding its contact, but decisions no
 * longer see it as an address. Once (the first reason stays). Returns whether it changed.
 */
export async function markUnreachable(c: Conn, kind: IdentityKind, value: string, reason: string, now: number): Promise<boolean> {
  const r = await c.db
    .updateTable('identities')
    .set({ unreachable_at: now, unreachable_reason: reason.slice(0, 500) })
    .where('kind', '=', kind)
    .where('value', '=', value)
    .where('unreachable_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * The contact wrote from this address: whatever a provider said, it is theirs and in use (a 30005
 * "unknown handset" about a number that has just texted us was wrong). True when it was marked.
 */
export async function markReachable(c: Conn, kind: IdentityKind, value: string): Promise<boolean> {
  let v: string;
  try {
    v = canonicalIdentity(kind, value);
  } catch {
    return false;
  }
  const r = await c.db
    .updateTable('identities')
    .set({ unreachable_at: null, unreachable_reason: null })
    .where('kind', '=', kind)
    .where('value', '=', v)
    .where('unreachable_at', 'is not', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The value of one kind of identity a contact has (its HubSpot id, its email), if any. */
export async function identityOf(c: Conn, contactId: string, kind: IdentityKind): Promise<string | null> {
  const row = await c.db
    .selectFrom('identities')
    .select('value')
    .where('contact_id', '=', contactId)
    .where('kind', '=', kind)
    .orderBy('value')
    .executeTakeFirst();
  return row?.value ?? null;
}

export async function identityConflicts(c: Conn, contactId: string): Promise<IdentityConflict[]> {
  const rows = await c.db
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

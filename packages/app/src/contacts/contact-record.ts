import type { Contact, IdentityKind } from '@signalbox/engine';
import { type Conn, parseJson } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import type { ContactsTable } from '../db/schema.js';

/**
 * A stored contact. `identities` are the addresses to send to; `unreachable`, when there are
 * any, the ones a provider said do not exist (they still find the contact).
 */
export type StoredContact = Contact & { createdAt: string; updatedAt: string; unreachable?: UnreachableIdentity[] };

export interface UnreachableIdentity {
  kind: IdentityKind;
  value: string;
  reason: string;
  at: string;
}

/** A contact with its identities, in one round trip (a merged one is followed to its survivor). */
export async function readContact(c: Conn, id: string): Promise<StoredContact | null> {
  const rows = (
    await prepared(
      c,
      'contact with identities',
      (d) =>
        d
          .selectFrom('contacts')
          .leftJoin('identities', 'identities.contact_id', 'contacts.id')
          .select([
            'contacts.id',
            'contacts.data',
            'contacts.merged_into',
            'contacts.created_at',
            'contacts.updated_at',
            'identities.kind',
            'identities.value',
            'identities.unreachable_at',
            'identities.unreachable_reason',
          ])
          .where('contacts.id', '=', arg(0))
          .orderBy('identities.kind')
          .orderBy('identities.value'),
      [id],
    )
  ).rows;
  const row = rows[0];
  if (row === undefined) return null;
  if (row.merged_into !== null) return readContact(c, row.merged_into);
  return contactOfRows(rows);
}

/** A contact row joined with its identities (one row per identity, ordered), as a record. */
export type ContactIdentityRow = Pick<ContactsTable, 'id' | 'data' | 'merged_into' | 'created_at' | 'updated_at'> & {
  kind: string | null;
  value: string | null;
  unreachable_at: number | null;
  unreachable_reason: string | null;
};

/** The contact those rows hold (not merged: the caller has followed merges). */
export function contactOfRows(rows: readonly ContactIdentityRow[]): StoredContact {
  const row = rows[0] as ContactIdentityRow;
  const unreachable = rows.flatMap((i) =>
    i.kind === null || i.value === null || i.unreachable_at === null
      ? []
      : [
          {
            kind: i.kind as IdentityKind,
            value: i.value,
            reason: i.unreachable_reason ?? '',
            at: new Date(Number(i.unreachable_at)).toISOString(),
          },
        ],
  );
  return {
    ...parseJson<Contact>(row.data),
    id: row.id,
    identities: rows.flatMap((i) =>
      i.kind === null || i.value === null || i.unreachable_at !== null ? [] : [{ kind: i.kind as IdentityKind, value: i.value }],
    ),
    ...(unreachable.length > 0 ? { unreachable } : {}),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

import type { Contact, Identity, IdentityKind } from '@signalbox/engine';
import { sql } from 'kysely';
import { type Conn, parseJson } from '../db/connection.js';

export interface ContactFilter {
  /** An identity's value, exactly (normalised as stored) or as a prefix ending in `*`. */
  identity?: string | undefined;
  identityKind?: IdentityKind | undefined;
  market?: string | undefined;
  /** Contacts whose latest ledger line for this channel × purpose has this status. */
  consent?: { channel: string; purpose: string; status: 'granted' | 'revoked' } | undefined;
  /** Contacts with an instance of this journey (in `journeyStatus`, when given). */
  journey?: string | undefined;
  journeyStatus?: string | undefined;
}

/** A contact as a list shows it. */
export interface ContactSummary {
  id: string;
  market: string | null;
  timezone: string | null;
  tags: string[];
  identities: Identity[];
  createdAt: number;
  updatedAt: number;
}

/** A phone typed with spaces or dashes finds the E.164 it is stored as. */
function normalizedOr(value: string): string {
  const digits = value.replace(/[\s().-]/g, '');
  return /^\+[1-9]\d{6,14}$/.test(digits) ? digits : value;
}

/**
 * Contacts (not merged away) in id order, filtered: an identity value (exact, or a prefix
 * ending in `*`), market, the latest ledger line for a channel × purpose, a journey they are in.
 * `after` (the last id of the previous page) pages on.
 */
export async function searchContacts(c: Conn, f: ContactFilter, limit: number, after?: string): Promise<ContactSummary[]> {
  let q = c.db.selectFrom('contacts as c').select(['c.id', 'c.data', 'c.created_at', 'c.updated_at']).where('c.merged_into', 'is', null);
  if (f.identity !== undefined) {
    const v = f.identity.trim();
    const value = v.endsWith('*') ? v.slice(0, -1).toLowerCase() : v.toLowerCase();
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('identities as i')
          .select('i.contact_id')
          .whereRef('i.contact_id', '=', 'c.id')
          .where((e2) =>
            v.endsWith('*')
              ? // the prefix as typed: its `%` and `_` are characters, not wildcards
                sql<boolean>`${sql.ref('i.value')} like ${`${value.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`} escape '\\'`
              : e2('i.value', '=', normalizedOr(value)),
          )
          .$if(f.identityKind !== undefined, (s) => s.where('i.kind', '=', f.identityKind as string)),
      ),
    );
  }
  // the contact's own market, not a text match over its whole record (an attribute named market is not it)
  if (f.market !== undefined)
    q = q.where(
      c.dialect === 'postgres'
        ? // json, not jsonb: jsonb refuses a \u0000 escape anywhere in a record (an attribute may hold one)
          sql<string>`(${sql.ref('c.data')}::json ->> 'market')`
        : sql<string>`json_extract(${sql.ref('c.data')}, '$.market')`,
      '=',
      f.market,
    );
  if (f.consent !== undefined) {
    const k = f.consent;
    // the latest line for that channel × purpose says so (a later line of the same pair would override it)
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('consent_ledger as l')
          .select('l.id')
          .whereRef('l.contact_id', '=', 'c.id')
          .where('l.channel', '=', k.channel)
          .where('l.purpose', '=', k.purpose)
          .where('l.status', '=', k.status)
          .where((e2) =>
            e2.not(
              e2.exists(
                e2
                  .selectFrom('consent_ledger as m')
                  .select('m.id')
                  .whereRef('m.contact_id', '=', 'l.contact_id')
                  .whereRef('m.channel', '=', 'l.channel')
                  .whereRef('m.purpose', '=', 'l.purpose')
                  .where((e3) =>
                    e3.or([e3('m.at', '>', e3.ref('l.at')), e3.and([e3('m.at', '=', e3.ref('l.at')), e3('m.id', '>', e3.ref('l.id'))])]),
                  ),
              ),
            ),
          ),
      ),
    );
  }
  if (f.journey !== undefined) {
    const j = f.journey;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('journey_instances as j')
          .select('j.id')
          .whereRef('j.contact_id', '=', 'c.id')
          .where('j.journey_id', '=', j)
          .$if(f.journeyStatus !== undefined, (s) => s.where('j.status', '=', f.journeyStatus as string)),
      ),
    );
  }
  if (after !== undefined) q = q.where('c.id', '>', after);
  const rows = await q.orderBy('c.id').limit(limit).execute();
  if (rows.length === 0) return [];
  const ids = await c.db
    .selectFrom('identities')
    .select(['contact_id', 'kind', 'value'])
    .where(
      'contact_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('kind')
    .orderBy('value')
    .execute();
  return rows.map((r) => {
    const data = parseJson<Contact>(r.data);
    return {
      id: r.id,
      market: data.market ?? null,
      timezone: data.timezone ?? null,
      tags: data.tags ?? [],
      identities: ids.filter((i) => i.contact_id === r.id).map((i) => ({ kind: i.kind as IdentityKind, value: i.value })),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    };
  });
}

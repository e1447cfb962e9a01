import type { Conn } from '../db/connection.js';
import { FIRST_CLAIM_AT, requestPriority } from '../messages/pressure-record.js';

/**
 * A page of contacts with everything a decision reads about them, as rows (cheap to send to
 * another thread, parsed where they are used): identities, consent ledger, what counts against
 * the pressure budget, recent events. Rows are in contact-id order.
 */
export interface SnapshotPage {
  /** [id, data (JSON)] */
  contacts: Array<[string, string]>;
  /** [contactId, kind, value] */
  identities: Array<[string, string, string]>;
  /** [contactId, channel, purpose, status, source, at] */
  consent: Array<[string, string, string, string, string, number]>;
  /**
   * [contactId, type, team, channel, createdAt, status, priority, claimedAt]: as the runtime reads a
   * decision's history (a message waiting to go, what its request's priority is, and when its first
   * step was claimed change how a budget counts it: see SentRecord and `sentRecordOf`).
   */
  history: Array<[string, string, string | null, string | null, number, string, string | null, number | null]>;
  /** [contactId, type, at, objectType, objectId, data (JSON)] */
  events: Array<[string, string, number, string | null, string | null, string]>;
}

/** What each page reads besides the contacts: the windows of the decision's history and events. */
export interface SnapshotWindow {
  /** Pressure budget rows created in [pressureSince, until). */
  pressureSince: number;
  /** Events that happened in [eventsSince, until), and those of the `lasting` types before it (see context.ts `eventReach`). */
  eventsSince: number;
  lasting: readonly string[];
  until: number;
  /** Statuses that count against the budget. */
  pressureStatuses: readonly string[];
}

/**
 * Contacts read in bulk for a dry run: a page of contacts and, for the id range it covers, the
 * rows of each other table in one query each (not one query per contact). Run inside a read
 * snapshot (`Store.readSnapshot`) so every page sees the same moment.
 */
export class ContactSnapshots {
  constructor(private readonly c: Conn) {}

  /** Contacts that are not merged into another. */
  async count(): Promise<number> {
    const r = await this.c.db
      .selectFrom('contacts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('merged_into', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** The next `limit` contacts after `after` (by id), with their rows; `ids` restricts to those contacts. */
  async page(after: string | null, limit: number, w: SnapshotWindow, ids?: readonly string[]): Promise<SnapshotPage> {
    let q = this.c.db.selectFrom('contacts').select(['id', 'data']).where('merged_into', 'is', null);
    if (after !== null) q = q.where('id', '>', after);
    if (ids !== undefined) q = q.where('id', 'in', ids.length > 0 ? [...ids] : ['']);
    const contacts = (await q.orderBy('id').limit(limit).execute()).map((r): [string, string] => [r.id, r.data]);
    const first = contacts[0]?.[0];
    const last = contacts.at(-1)?.[0];
    if (first === undefined || last === undefined) return { contacts, identities: [], consent: [], history: [], events: [] };
    const [identities, consent, history, events] = await Promise.all([
      this.c.db
        .selectFrom('identities')
        .select(['contact_id', 'kind', 'value'])
        .where('contact_id', '>=', first)
        .where('contact_id', '<=', last)
        .orderBy('contact_id')
        .orderBy('kind')
        .orderBy('value')
        .execute(),
      this.c.db
        .selectFrom('consent_ledger')
        .select(['contact_id', 'channel', 'purpose', 'status', 'source', 'at'])
        .where('contact_id', '>=', first)
        .where('contact_id', '<=', last)
        .orderBy('contact_id')
        .orderBy('at')
        .orderBy('id')
        .execute(),
      this.c.db
        .selectFrom('messages')
        .select(['contact_id', 'type', 'team', 'channel', 'created_at', 'status'])
        .select(requestPriority(this.c.dialect).as('priority'))
        .select(FIRST_CLAIM_AT.as('claimed_at'))
        .where('contact_id', '>=', first)
        .where('contact_id', '<=', last)
        .where('created_at', '>=', w.pressureSince)
        .where('created_at', '<', w.until)
        .where('status', 'in', [...w.pressureStatuses])
        .orderBy('contact_id')
        .orderBy('created_at')
        .execute(),
      this.c.db
        .selectFrom('contact_events')
        .select(['contact_id', 'type', 'at', 'object_type', 'object_id', 'data'])
        .where('contact_id', '>=', first)
        .where('contact_id', '<=', last)
        .where((eb) =>
          w.lasting.length === 0 ? eb('at', '>=', w.eventsSince) : eb.or([eb('at', '>=', w.eventsSince), eb('type', 'in', [...w.lasting])]),
        )
        .where('at', '<', w.until)
        .orderBy('contact_id')
        .orderBy('at')
        .execute(),
    ]);
    return {
      contacts,
      identities: identities.map((r) => [r.contact_id, r.kind, r.value]),
      consent: consent.map((r) => [r.contact_id, r.channel, r.purpose, r.status, r.source, Number(r.at)]),
      history: history.map((r) => [
        r.contact_id,
        r.type,
        r.team,
        r.channel,
        Number(r.created_at),
        r.status,
        r.priority,
        r.claimed_at === null ? null : Number(r.claimed_at),
      ]),
      events: events.map((r) => [r.contact_id, r.type, Number(r.at), r.object_type, r.object_id, r.data]),
    };
  }
}

import type { PastEvent } from '@signalbox/engine';
import { sql } from 'kysely';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import { COLUMNS, type ContactEventsTable } from '../db/schema.js';

/** What happened to a contact (CRM and API events): suppression windows and the timeline read it. */
export class ContactEvents {
  constructor(private readonly c: Conn) {}

  async record(
    contactId: string,
    e: { id: string; type: string; at: number; object?: { type: string; id: string } | undefined; data: unknown },
  ): Promise<void> {
    // a redelivered event is already there (no error: inside a PostgreSQL transaction one would abort it)
    await prepared(
      this.c,
      'record contact event',
      (d) =>
        d
          .insertInto('contact_events')
          .values({ id: arg(0), contact_id: arg(1), type: arg(2), at: arg(3), object_type: arg(4), object_id: arg(5), data: arg(6) })
          .onConflict((oc) => oc.column('id').doNothing()),
      [e.id, contactId, e.type, e.at, e.object?.type ?? null, e.object?.id ?? null, json(e.data ?? {})],
    );
  }

  /**
   * `record` for several events (of different contacts: a unit of work's), in one statement on
   * PostgreSQL (one each on SQLite).
   */
  async recordMany(list: ReadonlyArray<{ contactId: string; e: Parameters<ContactEvents['record']>[1] }>): Promise<void> {
    if (list.length === 0) return;
    if (this.c.dialect !== 'postgres') {
      for (const { contactId, e } of list) await this.record(contactId, e);
      return;
    }
    await prepared(
      this.c,
      'record contact events, many',
      (d) => ({
        compile: () =>
          sql`insert into contact_events (id, contact_id, type, at, object_type, object_id, data)
            select v.id, v.contact_id, v.type, v.at, v.object_type, v.object_id, v.data
            from unnest(${arg(0)}::text[], ${arg(1)}::text[], ${arg(2)}::text[], ${arg(3)}::bigint[], ${arg(4)}::text[],
              ${arg(5)}::text[], ${arg(6)}::text[]) as v(id, contact_id, type, at, object_type, object_id, data)
            on conflict (id) do nothing`.compile(d),
      }),
      [
        list.map((x) => x.e.id),
        list.map((x) => x.contactId),
        list.map((x) => x.e.type),
        list.map((x) => x.e.at),
        list.map((x) => x.e.object?.type ?? null),
        list.map((x) => x.e.object?.id ?? null),
        list.map((x) => json(x.e.data ?? {})),
      ],
    );
  }

  /**
   * Whether the contact has an event of these types at or after `since`, other than `except` (an
   * event's own record), and not about another object of `object`'s type where one is given.
   */
  async hasOfTypesSince(
    contactId: string,
    types: readonly string[],
    since: number,
    except: string,
    object?: { type: string; id: string },
  ): Promise<boolean> {
    if (types.length === 0) return false;
    let q = this.c.db
      .selectFrom('contact_events')
      .select('id')
      .where('contact_id', '=', contactId)
      .where('at', '>=', since)
      .where('type', 'in', [...types])
      .where('id', '!=', except);
    if (object !== undefined)
      q = q.where((eb) => eb.or([eb('object_type', 'is', null), eb('object_type', '!=', object.type), eb('object_id', '=', object.id)]));
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  }

  /**
   * `hasOfTypesSince` for several questions at once (a unit of work reading ahead for the events
   * it applies): the keys of those answered yes. One statement on PostgreSQL, one per question on
   * SQLite (in-process, where a statement costs no round trip).
   */
  async haveOfTypesSince(
    questions: ReadonlyArray<{
      key: string;
      contactId: string;
      types: readonly string[];
      since: number;
      except: string;
      object?: { type: string; id: string } | undefined;
    }>,
  ): Promise<Set<string>> {
    const yes = new Set<string>();
    const asked = questions.filter((q) => q.types.length > 0);
    if (asked.length === 0) return yes;
    if (this.c.dialect !== 'postgres') {
      for (const q of asked) if (await this.hasOfTypesSince(q.contactId, q.types, q.since, q.except, q.object)) yes.add(q.key);
      return yes;
    }
    const { rows } = await prepared<{ n: number }>(
      this.c,
      'contact events of types since, many',
      (d) => ({
        compile: () =>
          sql<{ n: number }>`select v.n from unnest(${arg(0)}::text[], ${arg(1)}::text[], ${arg(2)}::bigint[], ${arg(3)}::text[],
              ${arg(4)}::text[], ${arg(5)}::text[]) with ordinality as v(contact_id, types, since, excluded, object_type, object_id, n)
            where exists (select 1 from contact_events e
              where e.contact_id = v.contact_id and e.at >= v.since
                and e.type = any(array(select json_array_elements_text(v.types::json))) and e.id <> v.excluded
                and (v.object_type is null or e.object_type is null or e.object_type <> v.object_type or e.object_id = v.object_id))`.compile(
            d,
          ),
      }),
      [
        asked.map((q) => q.contactId),
        asked.map((q) => JSON.stringify(q.types)),
        asked.map((q) => q.since),
        asked.map((q) => q.except),
        asked.map((q) => q.object?.type ?? null),
        asked.map((q) => q.object?.id ?? null),
      ],
    );
    for (const r of rows) yes.add((asked[Number(r.n) - 1] as (typeof asked)[number]).key);
    return yes;
  }

  /**
   * The contact's events since `since`, and of the `lasting` types before it the latest per type
   * and object (all a window's state needs: its latest opening and closing), oldest first.
   */
  async since(contactId: string, since: number, lasting: readonly string[] = []): Promise<PastEvent[]> {
    if (lasting.length === 0) {
      const { rows } = await prepared(
        this.c,
        'recent events',
        (d) =>
          d
            .selectFrom('contact_events')
            .select(COLUMNS.contact_events)
            .where('contact_id', '=', arg(0))
            .where('at', '>=', arg(1))
            .orderBy('at'),
        [contactId, since],
      );
      return rows.map(pastEventOf);
    }
    // one round trip (the send gate reads this for every send): the recent events, and the older
    // ones of the lasting types, each part by its index
    const rows = await this.c.db
      .selectFrom('contact_events')
      .select(COLUMNS.contact_events)
      .where('contact_id', '=', contactId)
      .where('at', '>=', since)
      .unionAll(
        this.c.db
          .selectFrom('contact_events')
          .select(COLUMNS.contact_events)
          .where('contact_id', '=', contactId)
          .where('type', 'in', [...lasting])
          .where('at', '<', since),
      )
      .execute();
    const byAt = (a: (typeof rows)[number], b: (typeof rows)[number]) => Number(a.at) - Number(b.at);
    const latest = new Map<string, (typeof rows)[number]>();
    for (const r of rows.filter((x) => Number(x.at) < since).sort((a, b) => byAt(b, a))) {
      const key = `${r.type}\u0000${r.object_type ?? ''}\u0000${r.object_id ?? ''}`;
      if (!latest.has(key)) latest.set(key, r);
    }
    return [...[...latest.values()].sort(byAt), ...rows.filter((x) => Number(x.at) >= since).sort(byAt)].map(pastEventOf);
  }
}

/** A recorded event as the engine reads it. */
export function pastEventOf(r: Pick<ContactEventsTable, 'type' | 'at' | 'object_type' | 'object_id' | 'data'>): PastEvent {
  const e: PastEvent = { type: r.type, at: new Date(Number(r.at)).toISOString(), data: parseJson(r.data) };
  if (r.object_type !== null && r.object_id !== null) e.object = { type: r.object_type, id: r.object_id };
  return e;
}

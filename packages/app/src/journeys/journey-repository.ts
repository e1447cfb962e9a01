import type { JourneyInstance } from '@signalbox/engine';
import { sql } from 'kysely';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';

export type JourneyStatus = JourneyInstance['status'];

export interface StoredInstance {
  id: string;
  journeyId: string;
  key: string;
  status: JourneyStatus;
  version: number;
  state: JourneyInstance;
}

/** Journey instances: one active instance per journey and key, saved with optimistic concurrency. */
export class JourneyRepository {
  constructor(private readonly c: Conn) {}

  /** Creates the active instance for (journey, key); false when one is already active. */
  async create(
    i: { id: string; journeyId: string; key: string; contactId: string; state: JourneyInstance },
    now: number,
  ): Promise<boolean> {
    // one active instance per (journey, key): a second start is no error (it would abort a PostgreSQL transaction)
    const r = await prepared(
      this.c,
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

  /**
   * `create` for several instances of different (journey, key) pairs at once (a unit of work
   * reading ahead, see read-ahead.ts): the ids of those created. One statement on PostgreSQL, one
   * per instance on SQLite (in-process, where a statement costs no round trip).
   */
  async createMany(
    list: ReadonlyArray<{ id: string; journeyId: string; key: string; contactId: string; state: JourneyInstance }>,
    now: number,
  ): Promise<Set<string>> {
    const created = new Set<string>();
    if (list.length === 0) return created;
    if (this.c.dialect !== 'postgres') {
      for (const i of list) if (await this.create(i, now)) created.add(i.id);
      return created;
    }
    const { rows } = await prepared<{ id: string }>(
      this.c,
      'create journey instances, many',
      (d) => ({
        compile: () =>
          sql<{
            id: string;
          }>`insert into journey_instances (id, journey_id, key, contact_id, status, state, version, created_at, updated_at)
            select v.id, v.journey_id, v.key, v.contact_id, 'active', v.state, 1, ${arg(5)}, ${arg(5)}
            from unnest(${arg(0)}::text[], ${arg(1)}::text[], ${arg(2)}::text[], ${arg(3)}::text[], ${arg(4)}::text[])
              as v(id, journey_id, key, contact_id, state)
            on conflict (journey_id, key) where status = 'active' do nothing
            returning id`.compile(d),
      }),
      [
        list.map((i) => i.id),
        list.map((i) => i.journeyId),
        list.map((i) => i.key),
        list.map((i) => i.contactId),
        list.map((i) => json(i.state)),
        now,
      ],
    );
    for (const r of rows) created.add(r.id);
    return created;
  }

  async get(id: string): Promise<{ state: JourneyInstance; version: number; status: JourneyStatus } | null> {
    const r = await this.c.db
      .selectFrom('journey_instances')
      .select(['state', 'version', 'status'])
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? { state: parseJson(r.state), version: r.version, status: r.status as JourneyStatus } : null;
  }

  /** Optimistic save: false when another worker moved the instance first. */
  async save(id: string, expectedVersion: number, state: JourneyInstance, now: number): Promise<boolean> {
    const r = await prepared(
      this.c,
      'save journey instance',
      (d) =>
        d
          .updateTable('journey_instances')
          .set({ state: arg(0), status: arg(1), version: arg(2), updated_at: arg(3) })
          .where('id', '=', arg(4))
          .where('version', '=', arg(5)),
      [json(state), state.status, expectedVersion + 1, now, id, expectedVersion],
    );
    return Number(r.numAffectedRows ?? 0) === 1;
  }

  /** Active instances of a contact, or of an instance key (`object:<type>:<id>`). */
  async active(filter: { contactId?: string; key?: string }): Promise<StoredInstance[]> {
    const { rows } = await prepared(
      this.c,
      `active instances${filter.contactId !== undefined ? ' contact' : ''}${filter.key !== undefined ? ' key' : ''}`,
      (d) => {
        let q = d.selectFrom('journey_instances').selectAll().where('status', '=', 'active');
        if (filter.contactId !== undefined) q = q.where('contact_id', '=', arg(0));
        if (filter.key !== undefined) q = q.where('key', '=', arg(1));
        return q.orderBy('created_at');
      },
      [filter.contactId, filter.key],
    );
    return rows.map((r) => ({
      id: r.id,
      journeyId: r.journey_id,
      key: r.key,
      status: r.status as JourneyStatus,
      version: r.version,
      state: parseJson(r.state),
    }));
  }

  /**
   * Instances newest first, by journey definition, status and contact; `after` (the last row's
   * creation time and id) pages on.
   */
  async list(
    f: { journeyId?: string | undefined; status?: JourneyStatus | undefined; contactId?: string | undefined },
    limit: number,
    after?: { createdAt: number; id: string },
  ): Promise<Array<StoredInstance & { contactId: string; createdAt: number; updatedAt: number }>> {
    let q = this.c.db.selectFrom('journey_instances').selectAll();
    if (f.journeyId !== undefined) q = q.where('journey_id', '=', f.journeyId);
    if (f.status !== undefined) q = q.where('status', '=', f.status);
    if (f.contactId !== undefined) q = q.where('contact_id', '=', f.contactId);
    if (after !== undefined)
      q = q.where((eb) =>
        eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]),
      );
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({
      id: r.id,
      journeyId: r.journey_id,
      key: r.key,
      status: r.status as JourneyStatus,
      version: r.version,
      state: parseJson(r.state),
      contactId: r.contact_id,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    }));
  }

  /** A contact's latest instances (active or not), newest first. */
  async forContact(contactId: string, limit = 50): Promise<StoredInstance[]> {
    const rows = await this.c.db
      .selectFrom('journey_instances')
      .selectAll()
      .where('contact_id', '=', contactId)
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      journeyId: r.journey_id,
      key: r.key,
      status: r.status as JourneyStatus,
      version: r.version,
      state: parseJson(r.state),
    }));
  }
}

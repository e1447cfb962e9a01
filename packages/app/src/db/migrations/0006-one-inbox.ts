import { type Kysely, type Migration, sql } from 'kysely';

export const m0006: Migration = {
  async up(db: Kysely<unknown>) {
    // one inbox for every source: a CRM's raw events wait in it for their source's step
    // (mapping, contact resolution) and each succeeds or fails on its own; failures end as
    // dead letters (kept with their error, listable, retryable) instead of vanishing
    await db.schema
      .alterTable('inbox')
      .addColumn('stage', 'text', (c) => c.notNull().defaultTo('ready'))
      .execute();
    await db.schema.alterTable('inbox').addColumn('dead_at', 'bigint').execute();
    await db.schema.dropIndex('inbox_pending').execute();
    await db.schema
      .createIndex('inbox_pending')
      .on('inbox')
      .columns(['received_at', 'id'])
      .where(sql.ref('processed_at'), 'is', null)
      .where(sql.ref('stage'), '=', sql.lit('ready'))
      .execute();
    await db.schema
      .createIndex('inbox_raw')
      .on('inbox')
      .columns(['received_at', 'id'])
      .where(sql.ref('processed_at'), 'is', null)
      .where(sql.ref('stage'), '=', sql.lit('raw'))
      .execute();
    await db.schema.createIndex('inbox_dead').on('inbox').columns(['dead_at', 'id']).where(sql.ref('dead_at'), 'is not', null).execute();
    // what the HubSpot inbox still held moves over, as raw events
    const pending = await sql<{ id: string; payload: string; received_at: number }>`
      select id, payload, received_at from crm_inbox where processed_at is null order by received_at, id`.execute(db);
    for (const row of pending.rows) {
      const parsed = JSON.parse(row.payload) as unknown;
      const delivery = Array.isArray(parsed);
      const event = parsed as { type?: string; occurredAt?: string; object?: { type?: string; id?: string }; data?: { portalId?: number } };
      const payload = delivery
        ? row.payload
        : JSON.stringify({
            portalId: event.data?.portalId,
            objectType: String(event.object?.type ?? 'hubspot.contact').replace(/^hubspot\./, ''),
            objectId: event.object?.id,
            event: event.type,
            occurredAt: event.occurredAt,
          });
      await sql`insert into inbox (id, source, event_id, type, stage, payload, received_at, attempts)
        values (${`m-${row.id}`}, 'hubspot', ${row.id}, ${delivery ? 'hubspot.delivery' : 'hubspot.workflow'}, 'raw', ${payload}, ${row.received_at}, 0)
        on conflict (source, event_id) do nothing`.execute(db);
    }
    await db.schema.dropTable('crm_inbox').execute();
    // a lease names its holder: a restarted instance resumes its own sends at once
    await db.schema.alterTable('attempts').addColumn('lease_owner', 'text').execute();
    // signed requests already accepted (replays are refused after a restart too, and on every instance)
    await db.schema
      .createTable('seen_signatures')
      .addColumn('signature', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('seen_signatures_expiry').on('seen_signatures').column('expires_at').execute();
    // the send gate's later decisions about a message, with their reasons
    await db.schema
      .createTable('message_decisions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('message_decisions_message').on('message_decisions').columns(['message_id', 'at']).execute();
  },
};

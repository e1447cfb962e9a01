import { type Kysely, type Migration, sql } from 'kysely';

/**
 * A timer names its contact, and pending timers are indexed by it: the agent card and a contact's
 * scheduled list read one contact's timers by this key instead of every pending timer (ordered by
 * `due_at` through the `timers_due` index and filtered on `ref`, which at 200,000 pending timers was
 * a scan of all of them per card). Timers pending now get their contact from their message or
 * journey instance.
 */
export const m0060: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('timers').addColumn('contact_id', 'text').execute();
    await sql`UPDATE timers SET contact_id = (SELECT m.contact_id FROM messages m WHERE m.id = timers.ref)
      WHERE kind <> 'journey' AND fired_at IS NULL AND cancelled_at IS NULL`.execute(db);
    await sql`UPDATE timers SET contact_id = (SELECT j.contact_id FROM journey_instances j WHERE j.id = timers.ref)
      WHERE kind = 'journey' AND fired_at IS NULL AND cancelled_at IS NULL`.execute(db);
    await db.schema
      .createIndex('timers_contact')
      .on('timers')
      .columns(['contact_id', 'due_at'])
      .where(sql.ref('fired_at'), 'is', null)
      .where(sql.ref('cancelled_at'), 'is', null)
      .execute();
  },
};

import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely';

/**
 * PostgreSQL: room on each page for the rows updated in place. A message and its attempt are
 * updated twice each (sent, then delivered or failed), a contact on every receipt, a journey
 * instance on every step; with pages filled to the last byte (the default fill factor, 100) the new
 * version of a row goes to another page and every index of the table gets an entry for it (0.02 of
 * the updates of messages were in place at 500 events/s). Where an update changes no indexed
 * column (a message's status and cost, a contact's data, a receipt on an attempt; not an attempt's
 * sent update, which moves its lease and provider id), room left on the page lets PostgreSQL write
 * it in place (a HOT update) and leave the indexes alone. Applies to pages written from now on.
 * SQLite has no such setting.
 */
export const m0090: Migration = {
  async up(db: Kysely<unknown>) {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    for (const table of ['messages', 'attempts', 'contacts', 'journey_instances'])
      await sql`alter table ${sql.table(table)} set (fillfactor = 70)`.execute(db);
  },
};

import type { Kysely, Migration } from 'kysely';

/**
 * When a contact's fields (time zone, market, locale, attributes…) were last said, as of the word
 * that said them: an event's `occurredAt`, or the time an API call or CRM sync wrote them. An event
 * older than that, arriving late, leaves them as they are. Null on contacts written before: the
 * next word on them is taken.
 */
export const m0092: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('contacts').addColumn('fields_at', 'bigint').execute();
  },
};

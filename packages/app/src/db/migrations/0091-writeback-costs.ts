import type { Kysely, Migration } from 'kysely';

/**
 * The cost a message had when it was last written to a CRM's timeline: a cost that grows after
 * (an attempt paid after the outcome was written, such as the SMS that follows an answered urgent
 * call) writes the record again. Null on the records written before: they are not written again
 * for it.
 */
export const m0091: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('crm_writebacks').addColumn('cost', 'double precision').execute();
  },
};

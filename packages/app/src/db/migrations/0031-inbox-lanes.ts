import type { Kysely, Migration } from 'kysely';

export const m0031: Migration = {
  async up(db: Kysely<unknown>) {
    // what an event is about (a contact reference, a CRM record): with several instances on
    // PostgreSQL, the events of one lane are taken by one worker at a time, so they apply in order
    await db.schema.alterTable('inbox').addColumn('lane', 'text').execute();
  },
};

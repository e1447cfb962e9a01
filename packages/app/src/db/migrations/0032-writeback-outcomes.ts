import type { Kysely, Migration } from 'kysely';

export const m0032: Migration = {
  async up(db: Kysely<unknown>) {
    // the message's status when it was last written back: a message whose outcome moves on
    // (delivered, read, failed) is written again, to the same CRM record
    await db.schema.alterTable('crm_writebacks').addColumn('outcome', 'text').execute();
  },
};

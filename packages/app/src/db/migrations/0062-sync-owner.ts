import type { Kysely, Migration } from 'kysely';

/**
 * Who runs a sync, until when: with several instances, one initial sync (or sweep) of a CRM account
 * is run by one of them at a time — two reading the same pages would spend the account's API budget
 * twice and race on the same new identities. An owner whose claim lapsed (it died) is taken over from
 * the stored cursor.
 */
export const m0062: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('crm_sync').addColumn('owner', 'text').execute();
    await db.schema.alterTable('crm_sync').addColumn('owner_until', 'bigint').execute();
  },
};

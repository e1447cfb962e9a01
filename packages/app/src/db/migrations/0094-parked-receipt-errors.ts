import type { Kysely, Migration } from 'kysely';

/**
 * Why a failure receipt that came before its send was recorded says the message was not
 * delivered (a Twilio ErrorCode): kept while it is parked, so its attempt gets it when applied.
 */
export const m0094: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('pending_receipts').addColumn('error', 'text').execute();
  },
};

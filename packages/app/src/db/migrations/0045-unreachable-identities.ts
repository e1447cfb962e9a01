import type { Kysely, Migration } from 'kysely';

export const m0045: Migration = {
  async up(db: Kysely<unknown>) {
    // a provider said the address does not exist (Twilio 21211/21614, an SMTP 5xx, a hard bounce):
    // the identity still finds its contact (a STOP from it counts) but is no address to send to
    await db.schema.alterTable('identities').addColumn('unreachable_at', 'bigint').execute();
    await db.schema.alterTable('identities').addColumn('unreachable_reason', 'text').execute();
  },
};

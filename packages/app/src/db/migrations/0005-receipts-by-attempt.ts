import type { Kysely, Migration } from 'kysely';

export const m0005: Migration = {
  async up(db: Kysely<unknown>) {
    // a receipt is looked up by its attempt: a provider's retried webhook is recognised (same
    // attempt, status and time) and a message's receipts are read without a scan
    await db.schema.createIndex('receipts_attempt').on('receipts').columns(['attempt_id', 'status', 'at']).execute();
  },
};

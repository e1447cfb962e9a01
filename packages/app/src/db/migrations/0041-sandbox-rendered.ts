import type { Kysely, Migration } from 'kysely';

export const m0041: Migration = {
  async up(db: Kysely<unknown>) {
    // the sandbox keeps what it was handed to send, as a real provider's log would (JSON)
    await db.schema.alterTable('sandbox_sends').addColumn('rendered', 'text').execute();
  },
};

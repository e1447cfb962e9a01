import { type Kysely, type Migration, sql } from 'kysely';

export const m0004: Migration = {
  async up(db: Kysely<unknown>) {
    // only what is still pending is indexed: finishing an event or firing a timer removes its
    // entry instead of moving it within an index that grew with every row ever stored
    await db.schema.dropIndex('inbox_pending').execute();
    await db.schema
      .createIndex('inbox_pending')
      .on('inbox')
      .columns(['received_at', 'id'])
      .where(sql.ref('processed_at'), 'is', null)
      .execute();
    await db.schema.dropIndex('timers_due').execute();
    await db.schema
      .createIndex('timers_due')
      .on('timers')
      .columns(['due_at', 'id'])
      .where(sql.ref('fired_at'), 'is', null)
      .where(sql.ref('cancelled_at'), 'is', null)
      .execute();
    // an attempt gets its provider id when the provider answers: claimed attempts stay out
    await db.schema.dropIndex('attempts_provider_id').execute();
    await db.schema
      .createIndex('attempts_provider_id')
      .on('attempts')
      .columns(['provider', 'provider_message_id'])
      .where(sql.ref('provider_message_id'), 'is not', null)
      .execute();
  },
};

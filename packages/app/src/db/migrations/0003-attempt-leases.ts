import { type Kysely, type Migration, sql } from 'kysely';

export const m0003: Migration = {
  async up(db: Kysely<unknown>) {
    // a send claimed in an event's own transaction has no timer row: its lease is on the attempt
    await db.schema.alterTable('attempts').addColumn('lease_expires_at', 'bigint').execute();
    await db.schema
      .createIndex('attempts_leased')
      .on('attempts')
      .column('lease_expires_at')
      .where(sql.ref('lease_expires_at'), 'is not', null)
      .execute();
  },
};

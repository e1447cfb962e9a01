import type { Kysely, Migration } from 'kysely';

export const m0046: Migration = {
  async up(db: Kysely<unknown>) {
    // how the provider router reached the provider that served an attempt (fail-overs and why)
    await db.schema.alterTable('attempts').addColumn('route', 'text').execute();
  },
};

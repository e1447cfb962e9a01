import type { Kysely, Migration } from 'kysely';

export const m0040: Migration = {
  async up(db: Kysely<unknown>) {
    // what was sent on each attempt: the rendered content (JSON), its language, and for SMS its
    // encoding and parts (the provider, its message id and the cost are on the row already)
    await db.schema.alterTable('attempts').addColumn('content', 'text').execute();
    await db.schema.alterTable('attempts').addColumn('language', 'text').execute();
    await db.schema.alterTable('attempts').addColumn('encoding', 'text').execute();
    await db.schema.alterTable('attempts').addColumn('segments', 'integer').execute();
  },
};

import type { Kysely, Migration } from 'kysely';

export const m0070: Migration = {
  async up(db: Kysely<unknown>) {
    // the W3C traceparent of the span that accepted the event (tracing on), so the worker that
    // applies it (another thread or instance) continues its trace
    await db.schema.alterTable('inbox').addColumn('trace', 'text').execute();
  },
};

import type { Kysely, Migration } from 'kysely';

export const m0050: Migration = {
  async up(db: Kysely<unknown>) {
    // when the instance running a dry run last said it was still at it: a run whose instance
    // stopped (crash, restart) is reported failed instead of running forever
    await db.schema.alterTable('dry_runs').addColumn('heartbeat_at', 'bigint').execute();
  },
};

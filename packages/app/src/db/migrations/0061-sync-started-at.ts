import type { Kysely, Migration } from 'kysely';

/**
 * When a sync began: the changed-since sweep that follows an initial sync starts there, so what
 * changed while a large portal's export was written and read (minutes, over many worker rounds) is
 * repaired too. Until now the sweep started where the sync's last round began.
 */
export const m0061: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('crm_sync').addColumn('started_at', 'bigint').execute();
  },
};

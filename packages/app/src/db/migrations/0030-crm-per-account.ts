import type { Kysely, Migration } from 'kysely';

export const m0030: Migration = {
  async up(db: Kysely<unknown>) {
    // a message written back to each CRM its contact is in (HubSpot and Salesforce): one row per CRM
    await db.schema
      .createTable('crm_writebacks_v2')
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('crm', 'text', (c) => c.notNull())
      .addColumn('portal_id', 'text', (c) => c.notNull())
      .addColumn('crm_record_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('crm_writebacks_pk', ['message_id', 'crm'])
      .execute();
    await (db as Kysely<Record<string, Record<string, unknown>>>)
      .insertInto('crm_writebacks_v2')
      .columns(['message_id', 'crm', 'portal_id', 'crm_record_id', 'status', 'attempts', 'error', 'updated_at'])
      .expression((eb) =>
        eb
          .selectFrom('crm_writebacks')
          .select(['message_id', 'crm', 'portal_id', 'crm_record_id', 'status', 'attempts', 'error', 'updated_at']),
      )
      .execute();
    await db.schema.dropTable('crm_writebacks').execute();
    await db.schema.alterTable('crm_writebacks_v2').renameTo('crm_writebacks').execute();
    // where each Change Data Capture channel of each org stands (the last replay id processed)
    await db.schema
      .createTable('crm_replay')
      .addColumn('crm', 'text', (c) => c.notNull())
      .addColumn('account', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('replay_id', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('crm_replay_pk', ['crm', 'account', 'channel'])
      .execute();
  },
};

import type { Kysely, Migration } from 'kysely';

export const m0002: Migration = {
  async up(db: Kysely<unknown>) {
    // installed portals; tokens encrypted at rest (AES-256-GCM, key from the environment)
    await db.schema
      .createTable('crm_portals')
      .addColumn('crm', 'text', (c) => c.notNull())
      .addColumn('portal_id', 'text', (c) => c.notNull())
      .addColumn('tokens', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('installed_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('crm_portals_pk', ['crm', 'portal_id'])
      .execute();
    // what a CRM sent us, durable before we answer; resolved to contacts afterwards
    await db.schema
      .createTable('crm_inbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('crm', 'text', (c) => c.notNull())
      .addColumn('portal_id', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('processed_at', 'bigint')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_at', 'bigint', (c) => c.notNull())
      .addColumn('error', 'text')
      .execute();
    await db.schema.createIndex('crm_inbox_pending').on('crm_inbox').columns(['processed_at', 'next_at']).execute();
    // sync cursors (initial paging, modified-since sweep), per portal
    await db.schema
      .createTable('crm_sync')
      .addColumn('crm', 'text', (c) => c.notNull())
      .addColumn('portal_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('cursor', 'text')
      .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('crm_sync_pk', ['crm', 'portal_id', 'kind'])
      .execute();
    // messages written to the CRM timeline, and workflow callbacks waiting for a message
    await db.schema
      .createTable('crm_writebacks')
      .addColumn('message_id', 'text', (c) => c.primaryKey())
      .addColumn('crm', 'text', (c) => c.notNull())
      .addColumn('portal_id', 'text', (c) => c.notNull())
      .addColumn('crm_record_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('crm_callbacks')
      .addColumn('callback_id', 'text', (c) => c.primaryKey())
      .addColumn('crm', 'text', (c) => c.notNull())
      .addColumn('portal_id', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .addColumn('outcome', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('crm_callbacks_open').on('crm_callbacks').columns(['completed_at', 'created_at']).execute();
  },
};
